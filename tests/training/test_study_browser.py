"""In a real browser: a learner reads a module's lessons, takes its quiz through the exam
page, and finds the module completed with its credit hours."""

from playwright.sync_api import expect

from tests.factories import add_questions, make_module

from .test_exam_browser import Page, browser, live_server

__all__ = ["browser", "live_server"]  # fixtures, used by name below


def test_a_learner_studies_takes_the_quiz_and_gets_the_credit(
    app, live_server, browser, make_user, law
):
    add_questions("true_false", 3)  # keyed 正确 (original choice 0)
    module = make_module(lessons=2, quiz=(("quiz_true_false", 2),), credit_hours="1.5")
    learner = make_user(name="王五")
    tab = Page(browser.new_context(locale="zh-CN"))
    page = tab.page
    tab.login(live_server, learner)

    page.goto(f"{live_server}/study/")
    expect(page.locator("main")).to_contain_text("已完成 0 个模块，共 0 学时")
    page.get_by_role("link", name="测试模块").click()
    expect(page.locator("main")).to_contain_text("已读 0/2 课")
    page.get_by_role("link", name="第1课").click()
    expect(page.locator("main h1")).to_have_text("第1课")
    page.get_by_role("link", name="下一课").click()
    expect(page.locator("main h1")).to_have_text("第2课")
    page.get_by_role("link", name="返回模块（参加测验）").click()
    expect(page.locator("main")).to_contain_text("已读 2/2 课")

    page.get_by_role("button", name="开始测验").click()
    page.wait_for_url("**/attempts/*")
    expect(page.locator("[data-item-id]")).to_have_count(2)
    for position in (1, 2):
        page.locator(f"#q-{position} input[value='0']").check()
    expect(page.locator("[data-save-state]")).to_have_text("已保存")
    page.click("[data-submit] >> nth=0")
    page.wait_for_url("**/result")
    expect(page.locator(".exam-score")).to_contain_text("成绩")

    page.get_by_role("link", name="‹ 学习（通过测验后，在模块页面查看完成情况和学时）").click()
    expect(page.locator("main")).to_contain_text("已完成 1 个模块，共 1.5 学时")
    page.goto(f"{live_server}/study/modules/{module.id}")
    expect(page.locator(".alert-success")).to_contain_text("计 1.5 学时")
    assert tab.errors == []
