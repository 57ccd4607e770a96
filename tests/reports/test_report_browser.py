"""In a real browser: a unit admin opens the dashboard and the report on a phone and on a
desktop; the charts draw (ECharts, served by the app) and the console stays clean."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import Role
from tests.factories import add_questions, make_exam, take

from ..training.test_exam_browser import Page, browser, live_server

__all__ = ["browser", "live_server"]  # fixtures, used by name below

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.mark.parametrize("size", SIZES)
def test_a_unit_admin_opens_the_dashboard_and_the_report(
    app, live_server, browser, law, make_unit, make_user, root_unit, size
):
    add_questions("true_false", 2)
    bureau = make_unit("司法局", parent=root_unit)
    people = [make_user(unit=bureau, is_leader=n == 0) for n in range(3)]
    exam = make_exam(
        sections=[("true_false", 2, 50)], roster=people, pass_mark=Decimal(60), grade_bands=[]
    )
    take(people[0], exam, {"true_false": [0]})
    take(people[1], exam, {"true_false": [1]})
    admin = make_user(Role.UNIT_ADMIN, unit=bureau, name="局管理员")
    tab = Page(browser.new_context(locale="zh-CN", viewport=SIZES[size]))
    page = tab.page
    tab.login(live_server, admin)

    page.goto(f"{live_server}/")
    expect(page.locator('[data-home-card="running"]')).to_contain_text("已交卷 2/3 人")
    expect(page.locator("[data-year-rate]")).to_have_text("50.0%")
    page.locator('[data-home-card="pass-rates"]').get_by_role("link", name="统计报表").click()
    expect(page.locator("main h1")).to_have_text("统计报表")
    expect(page.locator("[data-total-took]")).to_have_text("2")
    # Each chart drew on its canvas (ECharts loaded from the app: no CDN).
    charts = page.locator("[data-chart]")
    expect(charts.first.locator("canvas")).to_have_count(1)
    assert charts.count() >= 6
    for index in range(charts.count()):
        expect(charts.nth(index).locator("canvas")).to_have_count(1)
    box = charts.first.bounding_box()
    assert box["width"] <= SIZES[size]["width"]
    assert tab.errors == []
