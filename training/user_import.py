"""Bulk user import from .xlsx: every row checked and shown, then, once the admin confirms,
all rows written or none (the upload waits in core.uploads, as the bank import's does)."""

from dataclasses import dataclass, field

from core import uploads
from core.audit import Actor, record
from core.errors import ServiceError
from core.roles import ROLE_LABELS, Role
from core.spreadsheets import Sheet, SpreadsheetError, read_xlsx, write_xlsx
from training.accounts import UserData, check_user_data, create_user
from training.models import User
from training.units import find_by_path_or_name

COLUMNS = ("姓名", "账号", "单位", "职务", "是否领导干部", "是否执法人员", "角色")
OPTIONAL_COLUMNS = ("手机号", "身份证号")
REQUIRED = ("姓名", "账号", "单位")
FIELD_COLUMNS = {
    "login": "账号",
    "name": "姓名",
    "unit_id": "单位",
    "phone": "手机号",
    "id_number": "身份证号",
    "roles": "角色",
}
YES = {"是", "y", "yes", "1", "true", "√"}
NO = {"否", "n", "no", "0", "false", "×", ""}
ROLE_BY_LABEL = {label: role for role, label in ROLE_LABELS.items()} | {
    "出题人员": Role.TRAINER,
    "培训人员": Role.TRAINER,
    "审计员": Role.AUDITOR,
}


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class CheckedRow:
    number: int
    data: UserData
    unit_path: str


@dataclass
class ImportCheck:
    rows: list[CheckedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


UPLOAD_KIND = "users"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\xa0", " ").strip()


def check_workbook(admin: User, data: bytes) -> ImportCheck:
    """Parse and validate the file; nothing is written."""
    result = ImportCheck()
    try:
        sheets = read_xlsx(data)
    except SpreadsheetError as error:
        result.errors.append(RowError(0, "", error.message))
        return result
    rows = sheets[0] if sheets else []
    if not rows:
        result.errors.append(RowError(1, "", "文件是空的"))
        return result
    header = [_text(cell) for cell in rows[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        result.errors.append(RowError(1, "", f"缺少必填列：{'、'.join(missing)}"))
        return result
    index = {name: header.index(name) for name in COLUMNS + OPTIONAL_COLUMNS if name in header}
    seen_logins: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        values = {name: _text(cells[i]) if i < len(cells) else "" for name, i in index.items()}
        if not any(values.values()):
            continue
        _check_row(admin, number, values, seen_logins, result)
    if not result.rows and not result.errors:
        result.errors.append(RowError(2, "", "文件中没有用户数据"))
    return result


def _yes_no(value: str, column: str, number: int, result: ImportCheck) -> bool:
    if value.lower() in YES:
        return True
    if value.lower() not in NO:
        result.errors.append(RowError(number, column, f"应填写「是」或「否」，而不是「{value}」"))
    return False


def _check_row(admin, number, values, seen_logins, result) -> None:
    errors_before = len(result.errors)
    for name in REQUIRED:
        if not values.get(name):
            result.errors.append(RowError(number, name, f"{name}不能为空"))
    unit, unit_error = find_by_path_or_name(values.get("单位", ""))
    if unit_error and values.get("单位"):
        result.errors.append(RowError(number, "单位", unit_error))
    roles = set()
    for label in values.get("角色", "").replace("，", "、").replace(",", "、").split("、"):
        if not label.strip():
            continue
        role = ROLE_BY_LABEL.get(label.strip())
        if role is None:
            known = "、".join(ROLE_LABELS.values())
            result.errors.append(RowError(number, "角色", f"未知角色「{label}」，可选：{known}"))
        else:
            roles.add(role)
    data = UserData(
        login=values.get("账号", ""),
        name=values.get("姓名", ""),
        unit_id=unit.id if unit else 0,
        position=values.get("职务", ""),
        is_leader=_yes_no(values.get("是否领导干部", ""), "是否领导干部", number, result),
        is_enforcement_officer=_yes_no(
            values.get("是否执法人员", ""), "是否执法人员", number, result
        ),
        phone=values.get("手机号", ""),
        id_number=values.get("身份证号", ""),
        roles=frozenset(roles or {Role.LEARNER}),
    )
    if data.login and data.login in seen_logins:
        result.errors.append(
            RowError(number, "账号", f"账号「{data.login}」与第 {seen_logins[data.login]} 行重复")
        )
    seen_logins.setdefault(data.login, number)
    if len(result.errors) == errors_before:
        for field_name, message in check_user_data(admin, data).items():
            result.errors.append(RowError(number, FIELD_COLUMNS.get(field_name, ""), message))
    if len(result.errors) == errors_before:
        result.rows.append(CheckedRow(number, data, unit.path))


def preview(admin: User, filename: str, data: bytes) -> tuple[ImportCheck, str | None]:
    """Check the file and, when it has no error, keep it for the confirmation; returns the
    check and the token the confirmation names (None when there are errors)."""
    check = check_workbook(admin, data)
    if check.errors:
        return check, None
    return check, uploads.stash(admin.id, filename, UPLOAD_KIND, data)


def confirm(actor: Actor, admin: User, token: str) -> tuple[ImportCheck, list | None]:
    """Import the file `preview` kept: checked again, since accounts may have changed
    meanwhile; returns the check and the created (user, password) pairs, or None and the
    errors found, having written nothing."""
    pending = uploads.take(admin.id, token, [UPLOAD_KIND])
    if pending is None:
        raise ServiceError("该文件已导入或预览已过期（超过一天），请重新上传。", code="expired")
    check = check_workbook(admin, pending.data)
    if check.errors:
        return check, None
    created = import_users(actor, admin, check)
    uploads.discard(pending)
    return check, created


def import_users(actor: Actor, admin: User, check: ImportCheck) -> list[tuple[User, str]]:
    """Create every checked row; the request commits once, so a failure leaves nothing."""
    if check.errors:
        raise ServiceError("文件有错误，未导入任何用户。")
    created = [create_user(actor, admin, row.data) for row in check.rows]
    record(
        actor,
        "user.import",
        object_type="user",
        summary=f"导入 {len(created)} 个用户",
        detail={"logins": [user.login for user, _ in created]},
    )
    return created


def template_workbook() -> bytes:
    """An empty import template with the header and one example row."""
    example = ["张三", "zhangsan", "区司法局", "科员", "否", "是", "学员", "", ""]
    header = [*COLUMNS, *OPTIONAL_COLUMNS]
    return write_xlsx([Sheet("用户导入", header, [example], widths=[12] * len(header))])
