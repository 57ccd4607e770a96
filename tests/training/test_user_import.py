import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core import uploads
from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from core.uploads import PendingUpload
from tests.spreadsheet_files import (
    damaged_workbook,
    last_cell_only,
    whole_sheet_range,
    zip_bomb,
)
from training.models import User

HEADER = ["姓名", "账号", "单位", "职务", "是否领导干部", "是否执法人员", "角色"]


def xlsx(*rows, header=HEADER) -> bytes:
    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "users.xlsx"):
    return client.post(
        "/admin/users/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def district(make_unit, root_unit):
    bureau = make_unit("区司法局", parent=root_unit)
    make_unit("普法科", parent=bureau)
    make_unit("普法科", parent=make_unit("区教育局", parent=root_unit))
    return bureau


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


GOOD_ROWS = (
    ("张三", "zhangsan", "区司法局", "科员", "否", "是", ""),
    ("李四", "lisi", "区司法局/普法科", "科长", "是", "否", "学员、培训出题人员"),
    ("王五", "wangwu", "测试区人民政府", "副区长", "是", "", "学员"),
)


def token_of(page: str) -> str:
    return re.search(r'action="/admin/users/import/([^"]+)"', page)[1]


def confirm(client, token: str):
    return client.post(f"/admin/users/import/{token}")


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action)))


def test_good_file_is_previewed_and_imported_only_on_confirm(client, login_as, district):
    login_as(Role.UNIT_ADMIN)  # of the whole district; a unit admin may grant trainer
    before = user_count()
    preview = upload(client, xlsx(*GOOD_ROWS))
    page = preview.text
    assert preview.status_code == 200 and "检查通过，尚未写入" in page
    assert "确认导入 3 个用户" in page
    assert '<td data-label="单位">测试区人民政府 / 区司法局 / 普法科</td>' in page
    assert '<td data-label="角色">学员、培训出题人员</td>' in page
    assert user_count() == before and "user.create" not in audit_actions()
    assert db.session.scalar(select(func.count(PendingUpload.id))) == 1

    response = confirm(client, token_of(page))
    assert response.status_code == 200 and "只显示这一次" in response.text
    lisi = db.session.scalar(select(User).where(User.login == "lisi"))
    assert lisi.unit.path == "测试区人民政府 / 区司法局 / 普法科"
    assert lisi.is_leader and not lisi.is_enforcement_officer
    assert lisi.roles == {Role.LEARNER, Role.TRAINER} and lisi.must_change_password
    zhangsan = db.session.scalar(select(User).where(User.login == "zhangsan"))
    assert zhangsan.is_enforcement_officer and zhangsan.roles == {Role.LEARNER}
    assert response.text.count("<code>") == 3
    actions = audit_actions()
    assert actions.count("user.create") == 3 and actions.count("user.import") == 1
    assert db.session.scalar(select(func.count(PendingUpload.id))) == 0

    again = confirm(client, token_of(page))  # double click, back button
    assert again.status_code == 302
    assert user_count() == before + 3 and audit_actions().count("user.import") == 1
    assert "该文件已导入或预览已过期" in client.get(again.headers["Location"]).text


def test_confirm_checks_again_and_imports_nothing_if_a_row_fails_now(
    client, login_as, district, make_user
):
    login_as(Role.UNIT_ADMIN)
    page = upload(client, xlsx(*GOOD_ROWS)).text
    before = user_count()
    make_user(login="wangwu")  # created by someone else between preview and confirm
    response = confirm(client, token_of(page))
    assert response.status_code == 400
    assert "导入失败，未创建任何用户" in response.text
    assert '<td data-label="行">4</td><td data-label="列">账号</td>' in response.text
    assert user_count() == before + 1
    assert db.session.scalar(select(User).where(User.login == "zhangsan")) is None
    assert "user.import" not in audit_actions()


def test_only_the_uploader_confirms_and_only_a_user_import(client, login_as, auth, district):
    first = login_as(Role.UNIT_ADMIN)
    token = token_of(upload(client, xlsx(*GOOD_ROWS)).text)
    bank_token = uploads.stash(first.id, "题库.csv", "csv", b"\xef\xbb\xbf")
    db.session.commit()
    assert confirm(client, bank_token).status_code == 302
    auth.logout()
    login_as(Role.UNIT_ADMIN)
    before = user_count()
    assert confirm(client, token).status_code == 302
    assert user_count() == before and "user.import" not in audit_actions()


def test_a_system_admin_imports_learners_only(client, login_as, district):
    """Roles are the security admin's to grant (三员分立): accounts come in as learners."""
    login_as(Role.SYSTEM_ADMIN)
    response = upload(client, xlsx(*GOOD_ROWS))
    assert response.status_code == 400
    assert "您无权授予或撤销角色：培训出题人员" in response.text
    response = upload(client, xlsx(GOOD_ROWS[0], GOOD_ROWS[2]))
    assert response.status_code == 200 and "确认导入 2 个用户" in response.text


def test_bad_file_reports_every_row_in_chinese_and_imports_nothing(
    client, login_as, district, make_user
):
    make_user(login="taken")
    login_as(Role.SYSTEM_ADMIN)
    before = user_count()
    response = upload(
        client,
        xlsx(
            ("张三", "zhangsan", "区司法局", "科员", "否", "是", "学员"),  # fine on its own
            ("", "noname", "区司法局", "", "否", "否", ""),
            ("李四", "taken", "区司法局", "", "否", "否", ""),
            ("王五", "wangwu", "不存在局", "", "否", "否", ""),
            ("赵六", "zhaoliu", "普法科", "", "否", "否", ""),
            ("钱七", "qianqi", "区司法局", "", "也许", "否", ""),
            ("孙八", "sunba", "区司法局", "", "否", "否", "超级管理员"),
            ("周九", "zhangsan", "区司法局", "", "否", "否", ""),
            ("吴十", "wushi", "区司法局", "", "否", "否", "系统管理员、审计管理员"),
        ),
    )
    assert "未导入任何用户" in response.text
    for row, column, message in [
        (3, "姓名", "姓名不能为空"),
        (4, "账号", "账号「taken」已存在"),
        (5, "单位", "单位「不存在局」不存在"),
        (6, "单位", "不唯一"),
        (7, "是否领导干部", "应填写「是」或「否」"),
        (8, "角色", "未知角色「超级管理员」"),
        (9, "账号", "与第 2 行重复"),
        (10, "角色", "三员分立"),
    ]:
        cells = f'<td data-label="行">{row}</td><td data-label="列">{column}</td>'
        assert cells in response.text, (row, column)
        assert message in response.text, message
    assert user_count() == before
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action.in_(["user.create", "user.import"])
            )
        )
        == 0
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 truncated", "不是有效的 .xlsx 文件或已损坏"),
        (b"not a zip at all", "不是有效的 .xlsx 文件或已损坏"),
        (xlsx(("张三", "zs"), header=["姓名", "账号"]), "缺少必填列：单位"),
        (xlsx(), "文件中没有用户数据"),
        (damaged_workbook(), "不是有效的 .xlsx 文件或已损坏"),
        (zip_bomb(), "疑似压缩炸弹"),
        (whole_sheet_range(HEADER), "A1:XFD1048576"),
        (last_cell_only(), "文件是空的"),
    ],
    ids=[
        "truncated",
        "not-zip",
        "no-unit-column",
        "no-rows",
        "damaged",
        "zip-bomb",
        "whole-range",
        "far-cell",
    ],
)
def test_broken_files_are_refused(client, login_as, district, data, message):
    login_as(Role.SYSTEM_ADMIN)
    before = user_count()
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.text
    assert user_count() == before


def test_truncated_real_workbook_is_refused(client, login_as, district):
    login_as(Role.SYSTEM_ADMIN)
    good = xlsx(("张三", "zhangsan", "区司法局", "科员", "否", "是", ""))
    response = upload(client, good[: len(good) // 2])
    assert "不是有效的 .xlsx 文件或已损坏" in response.text
    assert db.session.scalar(select(User).where(User.login == "zhangsan")) is None


def test_only_xlsx_is_accepted(client, login_as, district):
    login_as(Role.SYSTEM_ADMIN)
    response = upload(client, b"a,b", name="users.csv")
    assert "只支持 .xlsx 文件" in response.text


def test_unit_admin_imports_only_into_their_subtree(client, login_as, district):
    login_as(Role.UNIT_ADMIN, unit=district)
    before = user_count()
    response = upload(
        client,
        xlsx(
            ("张三", "zhangsan", "区司法局/普法科", "", "否", "否", ""),
            ("李四", "lisi", "区教育局", "", "否", "否", ""),
            ("王五", "wangwu", "区司法局", "", "否", "否", "单位管理员"),
        ),
    )
    assert "您无权管理该单位的用户" in response.text
    assert "您无权授予或撤销角色：单位管理员" in response.text
    assert user_count() == before


def test_template_download_has_the_columns(client, login_as):
    login_as(Role.SYSTEM_ADMIN)
    response = client.get("/admin/users/import/template.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [cell.value for cell in sheet[1]][: len(HEADER)] == HEADER
