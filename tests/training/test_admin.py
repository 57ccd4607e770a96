import re

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
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
        ({"roles": ["system_admin", "auditor"]}, "三员分立"),
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
            roles=["learner", "trainer"],
        ),
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.position == "副科长" and user.phone == "13912345678"
    assert user.roles == {Role.LEARNER, Role.TRAINER}
    update, roles = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.in_(["user.update", "user.roles"]))
        .order_by(AuditEntry.id)
    )
    assert update.detail_dict == {"position": ["科员", "副科长"]}
    assert roles.detail_dict == {"before": ["learner"], "after": ["learner", "trainer"]}


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


def test_deactivate_activate_unlock_and_reset_are_audited(client, login_as, make_user):
    user = make_user()
    login_as(Role.SYSTEM_ADMIN)
    client.post(f"/admin/users/{user.id}/deactivate")
    db.session.refresh(user)
    assert not user.is_active
    client.post(f"/admin/users/{user.id}/activate")
    client.post(f"/admin/users/{user.id}/unlock")
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
    assert client.get(f"/admin/users/{outside.id}/edit").status_code == 403
    assert client.post(f"/admin/users/{outside.id}/deactivate").status_code == 403
    assert client.get(f"/admin/users/{inside.id}/edit").status_code == 200

    refused = client.post("/admin/users/new", data=user_form(other))
    assert "不是有效的选择" in refused.text
    escalate = client.post("/admin/users/new", data=user_form(section, roles=["system_admin"]))
    assert escalate.status_code == 200
    assert db.session.scalar(select(User).where(User.login == "zhangsan")) is None
    created = client.post("/admin/users/new", data=user_form(section, roles=["trainer"]))
    assert "只显示这一次" in created.text


def test_unit_admin_edit_keeps_roles_they_cannot_grant(
    client, login_as, make_user, make_unit, root_unit
):
    bureau = make_unit("区司法局", parent=root_unit)
    colleague = make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau)
    login_as(Role.UNIT_ADMIN, unit=bureau)
    client.post(
        f"/admin/users/{colleague.id}/edit",
        data=user_form(bureau, login=colleague.login, name="改名", roles=["learner"]),
    )
    db.session.refresh(colleague)
    assert colleague.name == "改名" and colleague.roles == {Role.UNIT_ADMIN, Role.LEARNER}


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
