"""Enforcement certificates (行政执法证): issued only on a passed certificate exam, valid
for a configurable number of years, renewed by re-exam in the window before expiry,
reviewed yearly on that year's training, suspended or revoked with a reason.

Stored status is 有效, 暂扣 or 注销; 过期 and 待审验 follow from the dates and the reviews, so
nothing has to run at midnight for them to be right (status_of)."""

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from core.roles import Role
from core.spreadsheets import Sheet, SpreadsheetError, read_xlsx, write_xlsx
from training.accounts import UNKNOWN_PERSON, manageable_unit_ids, managed_person
from training.exams.models import Attempt, AttemptStatus, Exam, ExamKind
from training.models import Setting, User
from training.records import requirements
from training.records.models import (
    Certificate,
    CertificateReview,
    CertificateStatus,
    Group,
)
from training.records.record import year_totals

VALIDITY_KEY = "certificates.validity_years"
WINDOW_KEY = "certificates.renewal_months"
REVIEW_EXAM_KEY = "certificates.review_needs_exam"


class CertificateError(ServiceError):
    code = "certificate_rule"


@dataclass(frozen=True)
class Policy:
    #: years a certificate is valid (the national card: 5)
    validity_years: int = 5
    #: months before expiry in which the holder renews by re-exam
    renewal_months: int = 6
    #: whether the yearly review also needs that year's certificate or annual exam passed
    review_needs_exam: bool = False


def policy() -> Policy:
    values = {row.key: row.value for row in db.session.scalars(select(Setting))}
    default = Policy()
    return Policy(
        validity_years=int(values.get(VALIDITY_KEY, default.validity_years)),
        renewal_months=int(values.get(WINDOW_KEY, default.renewal_months)),
        review_needs_exam=values.get(REVIEW_EXAM_KEY, "0") == "1",
    )


def save_policy(actor: Actor, new: Policy) -> None:
    errors = {}
    if not 1 <= new.validity_years <= 10:
        errors["validity_years"] = "有效期应为 1–10 年。"
    if not 1 <= new.renewal_months <= 24:
        errors["renewal_months"] = "换证窗口应为 1–24 个月。"
    if errors:
        raise CertificateError("；".join(errors.values()), fields=errors)
    old = policy()
    for key, value in (
        (VALIDITY_KEY, str(new.validity_years)),
        (WINDOW_KEY, str(new.renewal_months)),
        (REVIEW_EXAM_KEY, "1" if new.review_needs_exam else "0"),
    ):
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
    record(
        actor,
        "records.certificate.policy",
        summary=f"有效期 {new.validity_years} 年，换证窗口 {new.renewal_months} 个月",
        detail={
            "validity_years": [old.validity_years, new.validity_years],
            "renewal_months": [old.renewal_months, new.renewal_months],
            "review_needs_exam": [old.review_needs_exam, new.review_needs_exam],
        },
    )


# --- dates --------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day when it has fewer."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def valid_until(issued_on: date, years: int) -> date:
    """The last day of validity: the day before the anniversary."""
    return add_months(issued_on, 12 * years) - timedelta(days=1)


def window_opens(until: date, months: int) -> date:
    return add_months(until, -months) + timedelta(days=1)


def review_due_year(issued_on: date, today: date, reviewed: Iterable[int]) -> int | None:
    """The year whose review is due: last year, once the card was held all of it (issued
    before it began) and it has not been reviewed."""
    year = today.year - 1
    if issued_on.year < year and year not in set(reviewed):
        return year
    return None


def status_of(
    stored: str, issued_on: date, until: date, today: date, reviewed: Iterable[int]
) -> CertificateStatus:
    if stored == CertificateStatus.REVOKED.value:
        return CertificateStatus.REVOKED
    if today > until:
        return CertificateStatus.EXPIRED
    if stored == CertificateStatus.SUSPENDED.value:
        return CertificateStatus.SUSPENDED
    if review_due_year(issued_on, today, reviewed) is not None:
        return CertificateStatus.REVIEW_DUE
    return CertificateStatus.VALID


def current_status(certificate: Certificate, today: date | None = None) -> CertificateStatus:
    return status_of(
        certificate.status,
        certificate.issued_on,
        certificate.valid_until,
        today or clock.china_today(),
        [review.year for review in certificate.reviews],
    )


# --- issuing ------------------------------------------------------------------------------


def _check_scope(admin: User, holder: User) -> None:
    if holder.id == admin.id:
        raise CertificateError("不能为自己办理执法证。", status=403)
    scope = manageable_unit_ids(admin)
    if scope is not None and holder.unit_id not in scope:
        raise CertificateError("该人员不在您管理的单位内。", status=403)


def passed_certificate_exam(user_id: int, since: date | None = None) -> Attempt | None:
    """The newest passed certificate exam attempt (submitted on or after `since`)."""
    stmt = (
        select(Attempt)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.user_id == user_id,
            Attempt.status == AttemptStatus.SUBMITTED.value,
            Attempt.passed.is_(True),
            Exam.kind == ExamKind.ENFORCEMENT.value,
        )
        .order_by(Attempt.submitted_at.desc())
        .limit(1)
    )
    if since is not None:
        stmt = stmt.where(Attempt.submitted_at >= clock.china_day_bounds(since)[0])
    return db.session.scalar(stmt)


def _check_number(number: str) -> str:
    number = number.strip()
    if not number:
        raise CertificateError("请填写证号。", fields={"number": "请填写证号。"})
    if db.session.scalar(select(Certificate.id).where(Certificate.number == number)):
        raise CertificateError(f"证号「{number}」已存在。", fields={"number": "证号已存在。"})
    return number


def _overlapping(user_id: int, field: str, first: date, last: date, except_id=None):
    stmt = select(Certificate).where(
        Certificate.user_id == user_id,
        Certificate.field == field,
        Certificate.status != CertificateStatus.REVOKED.value,
        Certificate.issued_on <= last,
        Certificate.valid_until >= first,
    )
    if except_id is not None:
        stmt = stmt.where(Certificate.id != except_id)
    return db.session.scalar(stmt.limit(1))


@dataclass
class CertificateData:
    number: str
    field: str
    authority: str
    issued_on: date | None


def _check_data(data: CertificateData) -> None:
    errors = {}
    if not data.field.strip():
        errors["field"] = "请填写执法领域。"
    if not data.authority.strip():
        errors["authority"] = "请填写发证机关。"
    if data.issued_on is None:
        errors["issued_on"] = "请填写发证日期。"
    elif data.issued_on > clock.china_today():
        errors["issued_on"] = "发证日期不能晚于今天。"
    if errors:
        raise CertificateError("；".join(errors.values()), fields=errors)


def issue(actor: Actor, admin: User, holder: User, data: CertificateData) -> Certificate:
    """A new certificate, only after a passed certificate exam and never overlapping a
    valid one of the same field."""
    _check_scope(admin, holder)
    _check_data(data)
    attempt = passed_certificate_exam(holder.id)
    if attempt is None:
        raise CertificateError(f"{holder.name} 没有通过行政执法证考试，不能发证。")
    return _create(actor, admin, holder, data, attempt.id, None)


def _create(actor, admin, holder, data, attempt_id, renews_id) -> Certificate:
    number = _check_number(data.number)
    until = valid_until(data.issued_on, policy().validity_years)
    clash = _overlapping(holder.id, data.field.strip(), data.issued_on, until)
    if clash is not None:
        raise CertificateError(
            f"与现有证件（{clash.number}，有效期至 {clash.valid_until}）的有效期重叠。"
        )
    certificate = Certificate(
        number=number,
        user_id=holder.id,
        field=data.field.strip(),
        authority=data.authority.strip(),
        issued_on=data.issued_on,
        valid_until=until,
        attempt_id=attempt_id,
        renews_id=renews_id,
        created_by=admin.id,
    )
    db.session.add(certificate)
    db.session.flush()
    record(
        actor,
        "records.certificate.renew" if renews_id else "records.certificate.issue",
        object_type="record_certificate",
        object_id=certificate.id,
        summary=f"{holder.name} {number} 有效期至 {until}",
        detail={"users": [holder.id]},
    )
    return certificate


def renew(actor: Actor, admin: User, old: Certificate, number: str) -> Certificate:
    """A renewal in the window before expiry, on a certificate exam passed in that window;
    the new card starts the day after the old one ends."""
    _check_scope(admin, old.holder)
    today = clock.china_today()
    state = current_status(old, today)
    if state in (CertificateStatus.REVOKED, CertificateStatus.EXPIRED):
        raise CertificateError(f"证件已{state.label}，不能换证，须重新参加考试申领。")
    if state == CertificateStatus.SUSPENDED:
        raise CertificateError("证件暂扣期间不能换证。")
    opens = window_opens(old.valid_until, policy().renewal_months)
    if today < opens:
        raise CertificateError(
            f"换证须在有效期届满前 {policy().renewal_months} 个月内办理（{opens} 起）。"
        )
    attempt = passed_certificate_exam(old.user_id, since=opens)
    if attempt is None:
        raise CertificateError(
            f"{old.holder.name} 在换证期内（{opens} 起）没有通过行政执法证考试。"
        )
    data = CertificateData(number, old.field, old.authority, old.valid_until + timedelta(days=1))
    return _create(actor, admin, old.holder, data, attempt.id, old.id)


# --- the yearly review, suspension, revocation ---------------------------------------------


def review(actor: Actor, admin: User, certificate: Certificate, year: int, remark: str = ""):
    """The yearly review of `year`: that year's credit hours reach the enforcement officers'
    requirement (and, where configured, a certificate or annual exam was passed that year)."""
    _check_scope(admin, certificate.holder)
    today = clock.china_today()
    state = current_status(certificate, today)
    if state in (CertificateStatus.EXPIRED, CertificateStatus.REVOKED):
        raise CertificateError(f"证件已{state.label}，不能审验。")
    if state == CertificateStatus.SUSPENDED:
        raise CertificateError("证件暂扣期间不能审验。")
    if not certificate.issued_on.year < year < today.year:
        raise CertificateError("只能审验发证之后、已经结束的年度。")
    if any(r.year == year for r in certificate.reviews):
        raise CertificateError(f"{year} 年度已审验。")
    done = year_totals([certificate.user_id], year)[certificate.user_id]
    rule = requirements.rule_for(requirements.stored_rules(), Group.ENFORCEMENT, year)
    hours = done.hours
    missing = []
    if hours < rule.hours:
        missing.append(f"{year} 年学时 {hours}，未达到 {rule.hours} 学时")
    exam_kinds = {ExamKind.ENFORCEMENT.value, ExamKind.ANNUAL.value}
    if policy().review_needs_exam and not exam_kinds & done.exams:
        missing.append(f"{year} 年没有通过执法证考试或年度学法考试")
    if missing:
        raise CertificateError("审验不通过：" + "；".join(missing) + "。")
    row = CertificateReview(
        certificate=certificate,
        year=year,
        reviewed_on=today,
        hours=hours,
        reviewed_by=admin.id,
        remark=remark.strip()[:500],
    )
    db.session.add(row)
    db.session.flush()
    record(
        actor,
        "records.certificate.review",
        object_type="record_certificate",
        object_id=certificate.id,
        summary=f"{certificate.holder.name} {certificate.number} {year} 年度审验（{hours} 学时）",
        detail={"users": [certificate.user_id]},
    )
    return row


def _set_status(actor, admin, certificate, to: CertificateStatus, reason: str, action: str):
    _check_scope(admin, certificate.holder)
    reason = reason.strip()
    if to != CertificateStatus.VALID and not reason:
        raise CertificateError("请填写原因。", fields={"reason": "请填写原因。"})
    state = current_status(certificate)
    if state in (CertificateStatus.REVOKED, CertificateStatus.EXPIRED):
        raise CertificateError(f"证件已{state.label}。")
    if to == CertificateStatus.VALID and state != CertificateStatus.SUSPENDED:
        raise CertificateError("证件没有被暂扣。")
    if to == CertificateStatus.SUSPENDED and state == CertificateStatus.SUSPENDED:
        raise CertificateError("证件已被暂扣。")
    certificate.status = to.value
    certificate.reason = reason[:500]
    record(
        actor,
        action,
        object_type="record_certificate",
        object_id=certificate.id,
        summary=f"{certificate.holder.name} {certificate.number} {reason}".strip(),
        detail={"users": [certificate.user_id]},
    )


def suspend(actor: Actor, admin: User, certificate: Certificate, reason: str) -> None:
    _set_status(
        actor,
        admin,
        certificate,
        CertificateStatus.SUSPENDED,
        reason,
        "records.certificate.suspend",
    )


def lift_suspension(actor: Actor, admin: User, certificate: Certificate) -> None:
    _set_status(
        actor, admin, certificate, CertificateStatus.VALID, "", "records.certificate.restore"
    )


def revoke(actor: Actor, admin: User, certificate: Certificate, reason: str) -> None:
    _set_status(
        actor, admin, certificate, CertificateStatus.REVOKED, reason, "records.certificate.revoke"
    )


# --- lists --------------------------------------------------------------------------------


def _in_scope(stmt, admin: User):
    scope = manageable_unit_ids(admin)
    if scope is not None:
        stmt = stmt.join(User, User.id == Certificate.user_id).where(User.unit_id.in_(scope))
    return stmt


def register(admin: User, keyword: str = "", limit: int = 500) -> list[Certificate]:
    stmt = _in_scope(
        select(Certificate)
        .options(
            joinedload(Certificate.holder).joinedload(User.unit),
            selectinload(Certificate.reviews),
        )
        .order_by(Certificate.valid_until, Certificate.id)
        .limit(limit),
        admin,
    )
    if keyword.strip():
        stmt = stmt.where(Certificate.number.contains(keyword.strip(), autoescape=True))
    return list(db.session.scalars(stmt).unique())


@dataclass
class DueRow:
    certificate: Certificate
    status: CertificateStatus
    #: what is due: 换证 (in the renewal window), 审验 (last year's review) or 已过期
    due: str
    unit_path: str


def due_list(admin: User, today: date | None = None) -> list[DueRow]:
    """Certificates of the admin's units that expire within the renewal window, have
    expired within the last year, or whose yearly review is due; by unit, soonest first."""
    today = today or clock.china_today()
    months = policy().renewal_months
    horizon = add_months(today, months)
    stmt = _in_scope(
        select(Certificate)
        .options(
            joinedload(Certificate.holder).joinedload(User.unit),
            selectinload(Certificate.reviews),
        )
        .where(
            Certificate.status != CertificateStatus.REVOKED.value,
            Certificate.valid_until >= add_months(today, -12),
        )
        .order_by(Certificate.valid_until),
        admin,
    )
    renewed = set(
        db.session.scalars(select(Certificate.renews_id).where(Certificate.renews_id.is_not(None)))
    )
    rows = []
    for certificate in db.session.scalars(stmt).unique():
        if certificate.id in renewed:
            continue
        state = current_status(certificate, today)
        if state == CertificateStatus.EXPIRED:
            due = "已过期"
        elif certificate.valid_until <= horizon:
            due = f"换证（{certificate.valid_until} 到期）"
        elif state == CertificateStatus.REVIEW_DUE:
            due = f"{today.year - 1} 年度审验"
        else:
            continue
        rows.append(DueRow(certificate, state, due, certificate.holder.unit.path))
    rows.sort(key=lambda row: (row.unit_path, row.certificate.valid_until))
    return rows


def certificates_of(user_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .options(selectinload(Certificate.reviews))
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_on.desc())
        )
    )


def count_valid(user_ids_stmt) -> int:
    """Certificates currently valid (有效 or 待审验) among the people `user_ids_stmt` selects."""
    today = clock.china_today()
    return db.session.scalar(
        select(func.count(Certificate.id)).where(
            Certificate.user_id.in_(user_ids_stmt),
            Certificate.status == CertificateStatus.VALID.value,
            Certificate.valid_until >= today,
        )
    )


# --- bulk import of existing holders -------------------------------------------------------

IMPORT_COLUMNS = ("证号", "账号", "姓名", "执法领域", "发证机关", "发证日期", "有效期至")


def export_due(actor: Actor, admin: User) -> bytes:
    """The due list as .xlsx: names and certificate numbers of people in the admin's
    units, so the export is audited."""
    rows = due_list(admin)
    record(actor, "records.certificate.export_due", summary=f"{len(rows)} 张")
    header = ["单位", "姓名", "证号", "执法领域", "有效期至", "状态", "待办"]
    cells = [
        [
            row.unit_path,
            row.certificate.holder.name,
            row.certificate.number,
            row.certificate.field,
            row.certificate.valid_until,
            row.status.label,
            row.due,
        ]
        for row in rows
    ]
    caption = f"执法证到期与待审验清单（{clock.china_today()}）"
    sheet = Sheet(
        "到期与待审验", header, cells, widths=[30, 10, 20, 16, 12, 8, 24], caption=caption
    )
    return write_xlsx([sheet])


def view(actor: Actor, viewer: User, certificate: Certificate) -> None:
    """An admin reading another person's certificate is audited; the holder's own is not."""
    if certificate.user_id != viewer.id:
        record(
            actor,
            "records.certificate.view",
            object_type="record_certificate",
            object_id=certificate.id,
            summary=f"{certificate.holder.name} {certificate.number}",
            detail={"users": [certificate.user_id]},
        )


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[str] | None = None


def _cell_date(value) -> date | None:
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def import_holders(actor: Actor, admin: User, data: bytes) -> ImportResult:
    """Existing holders from paper, from an .xlsx in IMPORT_COLUMNS: every row checked,
    then all written or none (the errors name the row in Chinese)."""
    try:
        sheets = read_xlsx(data)
    except SpreadsheetError as error:
        return ImportResult(errors=[error.message])
    rows = sheets[0] if sheets else []
    if not rows:
        return ImportResult(errors=["文件是空的。"])
    header = [str(cell or "").strip() for cell in rows[0]]
    missing = [name for name in IMPORT_COLUMNS if name not in header]
    if missing:
        return ImportResult(errors=[f"第1行：缺少列「{'」「'.join(missing)}」。"])
    at = {name: header.index(name) for name in IMPORT_COLUMNS}
    errors: list[str] = []
    planned: list[tuple[User, CertificateData, date]] = []
    numbers: set[str] = set()
    for number_in_file, row in enumerate(rows[1:], start=2):
        cells = list(row) + [None] * len(header)
        value = {name: cells[at[name]] for name in IMPORT_COLUMNS}
        text = {name: str(cell or "").strip() for name, cell in value.items()}
        problems = []
        number = text["证号"]
        if not number:
            problems.append("证号不能为空")
        elif number in numbers:
            problems.append(f"证号「{number}」在文件中重复")
        elif db.session.scalar(select(Certificate.id).where(Certificate.number == number)):
            problems.append(f"证号「{number}」已存在")
        numbers.add(number)
        holder = managed_person(admin, text["账号"])
        if holder is None:
            problems.append(f"账号「{text['账号']}」{UNKNOWN_PERSON[2:].rstrip('。')}")
        elif holder.name != text["姓名"]:
            problems.append(f"姓名「{text['姓名']}」与账号不符")
        elif holder.id == admin.id:
            problems.append("不能为自己导入执法证")
        for name in ("执法领域", "发证机关"):
            if not text[name]:
                problems.append(f"{name}不能为空")
        issued, until = _cell_date(value["发证日期"]), _cell_date(value["有效期至"])
        if issued is None:
            problems.append("发证日期格式应为 2024-05-01")
        if until is None:
            problems.append("有效期至格式应为 2029-04-30")
        if issued and until and issued >= until:
            problems.append("有效期至应晚于发证日期")
        if not problems and _overlapping(holder.id, text["执法领域"], issued, until):
            problems.append("与已登记证件的有效期重叠")
        if not problems and any(
            p[0].id == holder.id
            and p[1].field == text["执法领域"]
            and p[1].issued_on <= until
            and p[2] >= issued
            for p in planned
        ):
            problems.append("与文件中另一行的有效期重叠")
        if problems:
            errors.append(f"第{number_in_file}行：" + "；".join(problems) + "。")
        else:
            data_row = CertificateData(number, text["执法领域"], text["发证机关"], issued)
            planned.append((holder, data_row, until))
    if errors:
        return ImportResult(errors=errors)
    if not planned:
        return ImportResult(errors=["文件中没有数据行。"])
    for holder, data_row, until in planned:
        db.session.add(
            Certificate(
                number=data_row.number,
                user_id=holder.id,
                field=data_row.field,
                authority=data_row.authority,
                issued_on=data_row.issued_on,
                valid_until=until,
                imported=True,
                created_by=admin.id,
            )
        )
    db.session.flush()
    record(
        actor,
        "records.certificate.import",
        summary=f"导入 {len(planned)} 张执法证",
        detail={"users": sorted({holder.id for holder, _, _ in planned})},
    )
    return ImportResult(imported=len(planned))


def is_admin(user: User) -> bool:
    return user.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)
