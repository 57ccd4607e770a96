import re
from pathlib import Path

import flask_wtf
import pytest
import wtforms
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from core.forms import CHINESE, MESSAGES
from core.roles import Role
from training import units
from training.models import Unit, User


def last_audit() -> AuditEntry:
    return db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))


def user_form(unit, **overrides) -> dict:
    data = {
        "login": "zhangsan",
        "name": "张三",
        "unit_id": unit.id,
        "position": "科员",
        "phone": "13912345678",
        "id_number": "14030219800101123X",
        "roles": ["learner"],
    }
    data.update(overrides)
    return data


def test_system_admin_creates_a_user_with_a_one_time_password(client, login_as, root_unit):
    login_as(Role.SYSTEM_ADMIN)
    response = client.post("/admin/users/new", data=user_form(root_unit, is_leader="y"))
    assert response.status_code == 200 and "只显示这一次" in response.text
    user = db.session.scalar(select(User).where(User.login == "zhangsan"))
    assert user.is_leader and user.must_change_password and user.roles == {Role.LEARNER}
    assert user.phone == "13912345678" and user.id_number == "14030219800101123X"
    entry = last_audit()
    assert entry.action == "user.create" and entry.object_id == str(user.id)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"login": "bad login!"}, "账号须为"),
        ({"phone": "12345"}, "手机号须为 11 位数字"),
        ({"id_number": "1234"}, "身份证号须为 18 位"),
        ({"roles": []}, "至少选择一个角色"),
        ({"roles": ["system_admin", "auditor"]}, "所选的选项无效"),
        ({"name": ""}, "请填写姓名"),
    ],
)
def test_bad_user_input_is_refused_in_chinese(client, login_as, root_unit, overrides, message):
    login_as(Role.SYSTEM_ADMIN)
    before = db.session.scalar(select(db.func.count(User.id)))
    response = client.post("/admin/users/new", data=user_form(root_unit, **overrides))
    assert response.status_code == 200 and message in response.text
    assert db.session.scalar(select(db.func.count(User.id))) == before


def test_duplicate_login_is_refused(client, login_as, make_user, root_unit):
    make_user(login="zhangsan")
    login_as(Role.SYSTEM_ADMIN)
    response = client.post("/admin/users/new", data=user_form(root_unit))
    assert "账号「zhangsan」已存在" in response.text


def test_an_invalid_choice_is_refused_in_chinese(client, login_as, root_unit):
    """WTForms' own "'x' is not a valid choice for this field" must not reach anyone."""
    login_as(Role.SYSTEM_ADMIN)
    response = client.post("/admin/users/new", data=user_form(root_unit, roles=["system_admin"]))
    assert "所选的选项无效，请重新选择。" in response.text
    assert "valid choice" not in response.text and "system_admin" not in response.text
    bad_unit = client.post("/admin/users/new", data=user_form(root_unit, unit_id="x"))
    assert "所选的选项无效" in bad_unit.text and "Invalid" not in bad_unit.text
    assert db.session.scalar(select(User).where(User.login == "zhangsan")) is None


def test_every_form_message_is_chinese():
    """Every message WTForms and Flask-WTF can produce comes out in Chinese."""
    sources = [*Path(wtforms.__file__).parent.rglob("*.py")]
    sources += Path(flask_wtf.__file__).parent.rglob("*.py")
    found = {
        match[1]
        for path in sources
        for match in re.finditer(r'gettext\(\s*"([^"]+)"', path.read_text())
    }
    assert len(found) > 30
    for message in found:
        assert CHINESE.search(MESSAGES.gettext(message)), message
        assert CHINESE.search(MESSAGES.ngettext(message, message, 2)), message


def test_edit_keeps_personal_numbers_when_left_blank_and_audits_changes(
    client, login_as, make_user
):
    user = make_user(phone="13912345678", id_number="14030219800101123X", position="科员")
    login_as(Role.SYSTEM_ADMIN)
    page = client.get(f"/admin/users/{user.id}/edit").text
    assert "13912345678" not in page and "139****5678" in page
    assert "14030219800101123X" not in page
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data=user_form(
            user.unit,
            login=user.login,
            name=user.name,
            position="副科长",
            phone="",
            id_number="",
        ),
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.position == "副科长" and user.phone == "13912345678"
    (update,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(["user.update", "user.roles"]))
    )
    assert update.detail_dict == {"position": ["科员", "副科长"]}


def test_the_security_admin_grants_roles_on_the_roles_page(client, login_as, make_user):
    user = make_user(Role.LEARNER)
    login_as(Role.SECURITY_ADMIN)
    page = client.get(f"/admin/users/{user.id}/roles").text
    assert 'value="unit_admin"' in page and 'value="auditor"' not in page
    assert "编辑" not in client.get("/admin/users").text  # accounts are not theirs
    response = client.post(f"/admin/users/{user.id}/roles", data={"roles": ["learner", "trainer"]})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.roles == {Role.LEARNER, Role.TRAINER}
    entry = last_audit()
    assert entry.action == "user.roles"
    assert entry.detail_dict == {"before": ["learner"], "after": ["learner", "trainer"]}
    empty = client.post(f"/admin/users/{user.id}/roles", data={})
    assert "至少选择一个角色" in empty.text
    db.session.refresh(user)
    assert user.roles == {Role.LEARNER, Role.TRAINER}


def test_user_lists_show_personal_data_masked(client, login_as, make_user):
    make_user(phone="13912345678", id_number="14030219800101123X")
    login_as(Role.SYSTEM_ADMIN)
    page = client.get("/admin/users").text
    assert "139****5678" in page and "140***********123X" in page
    assert "13912345678" not in page and "14030219800101123X" not in page


def test_every_page_listing_users_masks_personal_data(client, login_as, make_user):
    """Walk every GET page an admin can open and look for a full phone or ID number."""
    target = make_user(phone="13912345678", id_number="14030219800101123X")
    login_as(Role.SYSTEM_ADMIN, phone="13800001111", id_number="110101199001011234")
    pages = [
        "/",
        "/admin/users",
        "/admin/units",
        f"/admin/users/{target.id}/edit",
        "/admin/users/new",
        "/admin/users/import",
        "/account/password",
    ]
    for url in pages:
        page = client.get(url).text
        for secret in ("13912345678", "14030219800101123X", "13800001111", "110101199001011234"):
            assert secret not in page, url


def test_deactivate_activate_unlock_and_reset_are_audited(client, login_as, make_user, auth):
    user = make_user()
    login_as(Role.SYSTEM_ADMIN)
    client.post(f"/admin/users/{user.id}/deactivate")
    db.session.refresh(user)
    assert not user.is_active
    client.post(f"/admin/users/{user.id}/activate")
    auth.logout()
    login_as(Role.SECURITY_ADMIN)
    client.post(f"/admin/users/{user.id}/unlock")
    auth.logout()
    login_as(Role.SYSTEM_ADMIN)
    client.post(f"/admin/users/{user.id}/reset-password")
    assert list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id == str(user.id))
            .order_by(AuditEntry.id)
        )
    ) == ["user.deactivate", "user.activate", "user.unlock", "user.password_reset"]


def test_admin_cannot_deactivate_themselves(client, login_as):
    admin = login_as(Role.SYSTEM_ADMIN)
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "不能对自己的账号执行此操作" in response.text
    db.session.refresh(admin)
    assert admin.is_active


def test_unit_admin_is_scoped_to_their_subtree(client, login_as, make_user, make_unit, root_unit):
    bureau = make_unit("区司法局", parent=root_unit)
    section = make_unit("普法科", parent=bureau)
    other = make_unit("区教育局", parent=root_unit)
    inside = make_user(unit=section, name="科内人员")
    outside = make_user(unit=other, name="局外人员")
    login_as(Role.UNIT_ADMIN, unit=bureau)

    listing = client.get("/admin/users").text
    assert "科内人员" in listing and "局外人员" not in listing
    assert client.get(f"/admin/users/{outside.id}/edit").status_code == 404
    assert client.post(f"/admin/users/{outside.id}/deactivate").status_code == 404
    assert client.get(f"/admin/users/{inside.id}/edit").status_code == 200

    refused = client.post("/admin/users/new", data=user_form(other))
    assert "不是有效的选择" in refused.text
    escalate = client.post("/admin/users/new", data=user_form(section, roles=["system_admin"]))
    assert escalate.status_code == 200
    assert db.session.scalar(select(User).where(User.login == "zhangsan")) is None
    created = client.post("/admin/users/new", data=user_form(section, roles=["trainer"]))
    assert "只显示这一次" in created.text


OUT_OF_SCOPE_ROUTES = [
    ("get", "/admin/users/{id}/edit"),
    ("post", "/admin/users/{id}/edit"),
    ("get", "/admin/users/{id}/roles"),
    ("post", "/admin/users/{id}/roles"),
    ("post", "/admin/users/{id}/deactivate"),
    ("post", "/admin/users/{id}/activate"),
    ("post", "/admin/users/{id}/reset-password"),
    ("post", "/admin/users/{id}/unlock"),
]


def without_csrf(page: str) -> str:
    """The page without its CSRF token, which carries the second it was made in."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def test_out_of_scope_users_answer_like_missing_ones(
    client, login_as, make_user, make_unit, root_unit
):
    """403 against 404 would tell a unit admin which user ids exist; the page names nobody."""
    bureau = make_unit("区司法局", parent=root_unit)
    outside = make_user(unit=make_unit("区教育局", parent=root_unit), name="局外人员")
    login_as(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau)
    missing = outside.id + 1000
    for method, url in OUT_OF_SCOPE_ROUTES:
        hidden = getattr(client, method)(url.format(id=outside.id), data=user_form(bureau))
        absent = getattr(client, method)(url.format(id=missing), data=user_form(bureau))
        assert hidden.status_code == absent.status_code == 404, url
        assert without_csrf(hidden.text) == without_csrf(absent.text), url
        assert "局外人员" not in hidden.text, url
    db.session.refresh(outside)
    assert outside.name == "局外人员" and outside.is_active


def test_refusals_name_nobody(client, login_as, make_user, make_unit, root_unit):
    bureau = make_unit("区司法局", parent=root_unit)
    admin = make_user(Role.SYSTEM_ADMIN, unit=bureau, name="系统管理员甲")
    login_as(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau)
    page = client.post(f"/admin/users/{admin.id}/reset-password", follow_redirects=True).text
    assert "您无权对该账号执行此操作。" in page
    listing = client.get("/admin/users").text
    assert "系统管理员甲" in listing  # in their units: listed, but without buttons
    assert f"/admin/users/{admin.id}/reset-password" not in listing
    assert f"/admin/users/{admin.id}/edit" not in listing


def test_user_search_takes_percent_and_underscore_literally(client, login_as, make_user):
    make_user(login="a_b", name="下划线")
    make_user(login="axb", name="普通")
    make_user(name="百分之百%")
    login_as(Role.SYSTEM_ADMIN)
    underscore = client.get("/admin/users", query_string={"q": "a_b"}).text
    assert "下划线" in underscore and "普通" not in underscore
    percent = client.get("/admin/users", query_string={"q": "%"}).text
    assert "百分之百%" in percent and "下划线" not in percent


def test_unit_tree_create_rename_delete(client, login_as, root_unit):
    login_as(Role.SYSTEM_ADMIN)
    client.post("/admin/units", data={"name": "区司法局", "parent_id": root_unit.id})
    bureau = db.session.scalar(select(Unit).where(Unit.name == "区司法局"))
    assert bureau.parent_id == root_unit.id
    duplicate = client.post(
        "/admin/units", data={"name": "区司法局", "parent_id": root_unit.id}, follow_redirects=True
    )
    assert "同一上级单位下已有「区司法局」" in duplicate.text
    client.post(f"/admin/units/{bureau.id}/rename", data={"name": "区司法行政局"})
    db.session.refresh(bureau)
    assert bureau.name == "区司法行政局"
    refused = client.post(f"/admin/units/{root_unit.id}/delete", follow_redirects=True)
    assert "还有下级单位" in refused.text
    client.post(f"/admin/units/{bureau.id}/delete")
    assert db.session.scalar(select(Unit).where(Unit.id == bureau.id)) is None
    tree = client.get("/admin/units").text
    assert "测试区人民政府" in tree
    assert [
        e.action
        for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "unit").order_by(AuditEntry.id)
        )
    ] == ["unit.create", "unit.rename", "unit.delete"]


def test_unit_with_users_cannot_be_deleted(client, login_as, make_user, make_unit, root_unit):
    unit = make_unit("有人单位", parent=root_unit)
    make_user(unit=unit)
    login_as(Role.SYSTEM_ADMIN)
    response = client.post(f"/admin/units/{unit.id}/delete", follow_redirects=True)
    assert "还有用户" in response.text


def test_unit_admin_cannot_create_top_level_units(client, login_as, make_unit, root_unit):
    bureau = make_unit("区司法局", parent=root_unit)
    login_as(Role.UNIT_ADMIN, unit=bureau)
    page = client.get("/admin/units").text
    assert "（顶级单位）" not in page
    assert not re.search(r"<li[^>]*>\s*<div[^>]*>\s*<span>测试区人民政府", page)
    client.post("/admin/units", data={"name": "执法科", "parent_id": bureau.id})
    assert db.session.scalar(select(Unit).where(Unit.name == "执法科")).parent_id == bureau.id
    client.post(f"/admin/units/{bureau.id}/rename", data={"name": "改名"})
    db.session.refresh(bureau)
    assert bureau.name == "区司法局"


def test_the_unit_tree_counts_the_subtree_beside_the_direct_members(
    client, login_as, make_user, make_unit, root_unit, count_queries
):
    district = make_unit("示范区人民政府", parent=root_unit)
    bureau = make_unit("示范区司法局", parent=district)
    section = make_unit("普法科", parent=bureau)
    for unit, people in ((bureau, 2), (section, 3)):
        for _ in range(people):
            make_user(unit=unit)
    with count_queries() as queries:
        counts = units.head_counts()
    assert len(queries) == 1
    assert counts[district.id] == (0, 5)
    assert counts[bureau.id] == (2, 5)
    assert counts[section.id] == (3, 3)

    login_as(Role.SYSTEM_ADMIN, unit=root_unit)  # one more person at the top
    assert units.head_counts()[root_unit.id] == (1, 6)
    page = client.get("/admin/units").text
    assert '示范区人民政府 <span class="text-muted small">本级 0 人，含下级共 5 人' in page
    assert '普法科 <span class="text-muted small">3 人' in page
