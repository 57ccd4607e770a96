"""In a real browser: a unit admin records a 会前学法 with attendees chosen from the
roster, and a leader finds the hours on their study record."""

from playwright.sync_api import expect

from core.roles import Role

from .test_exam_browser import Page, browser, live_server

__all__ = ["browser", "live_server"]  # fixtures, used by name below


def test_a_unit_admin_records_a_pre_meeting_study_and_the_leader_sees_the_hours(
    app, live_server, browser, make_user, make_unit, root_unit
):
    bureau = make_unit("区司法局", parent=root_unit)
    admin = make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="王管理")
    leader = make_user(unit=bureau, name="李领导", is_leader=True)
    make_user(unit=bureau, name="赵科员")

    admin_tab = Page(browser.new_context(locale="zh-CN"))
    page = admin_tab.page
    admin_tab.login(live_server, admin)
    page.goto(f"{live_server}/records/activities")
    page.get_by_role("link", name="记录活动").click()
    page.get_by_label("活动类型").select_option(label="会前学法")
    page.get_by_label("名称").fill("区政府第12次常务会议会前学法")
    page.get_by_label("所学法律法规").fill("《中华人民共和国行政复议法》")
    page.get_by_label("学时").fill("1.5")
    page.get_by_label("李领导").check()
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "已记录「区政府第12次常务会议会前学法」，1 人"
    )
    assert admin_tab.errors == []

    leader_tab = Page(browser.new_context(locale="zh-CN"))
    page = leader_tab.page
    leader_tab.login(live_server, leader)
    page.get_by_role("link", name="学法档案").first.click()
    expect(page.locator("main")).to_contain_text("区政府第12次常务会议会前学法")
    expect(page.locator("main")).to_contain_text("学时合计 1.5")
    expect(page.locator("main")).to_contain_text("会前学法")
    assert leader_tab.errors == []
