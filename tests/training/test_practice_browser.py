"""In a real browser, at a phone's width: a learner studies a lesson, takes the module quiz,
gets the credit, practises, finds the mistake in the notebook and a review due today."""

from playwright.sync_api import expect

from tests.factories import add_questions, make_module

from .test_exam_browser import Page, browser, live_server

__all__ = ["browser", "live_server"]  # fixtures, used by name below


def test_study_quiz_credit_practice_mistake_and_review_due(
    app, live_server, browser, make_user, law
):
    add_questions("true_false", 3)  # keyed 正确 (choice 0)
    make_module(lessons=1, quiz=(("quiz_true_false", 2),), credit_hours="1")
    learner = make_user(name="赵六")
    tab = Page(browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}))
    page = tab.page
    tab.login(live_server, learner)

    page.goto(f"{live_server}/study/")
    page.get_by_role("link", name="测试模块").click()
    page.get_by_role("link", name="第1课").click()
    expect(page.locator("main h1")).to_have_text("第1课")
    page.goto(page.url.rsplit("/lessons/", 1)[0])
    page.get_by_role("button", name="开始测验").click()
    page.wait_for_url("**/attempts/*")
    for position in (1, 2):
        page.locator(f"#q-{position} input[value='0']").check()
    expect(page.locator("[data-save-state]")).to_have_text("已保存")
    page.click("[data-submit] >> nth=0")
    page.wait_for_url("**/result")
    page.goto(f"{live_server}/study/")
    expect(page.locator("main")).to_contain_text("已完成 1 个模块，共 1.0 学时")

    page.goto(f"{live_server}/")
    expect(page.locator("[data-home-card=practice]")).to_contain_text("今天没有到期的复习题")
    page.goto(f"{live_server}/practice/")
    page.get_by_role("button", name="随机练习").click()
    page.wait_for_url("**/practice/question*")
    page.get_by_label("错误").check()
    page.get_by_role("button", name="提交答案").click()
    expect(page.locator("[data-result]")).to_contain_text("回答错误")
    expect(page.locator("[data-result]")).to_contain_text("已加入错题本")
    expect(page.locator("[data-key]")).to_have_text("正确")
    # Nothing runs off the side of a phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(f"{live_server}/practice/mistakes")
    expect(page.locator("[data-mistake]")).to_have_count(1)
    page.goto(f"{live_server}/")
    expect(page.locator("[data-due-today]")).to_have_text("1")
    page.get_by_role("link", name="开始复习").click()
    page.wait_for_url("**/practice/question?mode=due")
    expect(page.locator("main h1")).to_contain_text("到期复习")
    assert tab.errors == []


def test_an_answer_refused_while_the_database_is_down_can_be_sent_again(
    app, live_server, browser, make_user, law
):
    add_questions("true_false", 1)
    learner = make_user(name="钱七")
    tab = Page(browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}))
    page = tab.page
    tab.login(live_server, learner)
    page.goto(f"{live_server}/practice/question?mode=random")
    down = {"error": "database_unavailable", "message": "数据库暂时无法连接，请稍后再试。"}
    page.route("**/practice/answer", lambda route: route.fulfill(status=503, json=down))
    page.get_by_label("正确").check()
    page.get_by_role("button", name="提交答案").click()
    expect(page.locator("[data-message]")).to_contain_text("数据库暂时无法连接")
    page.unroute("**/practice/answer")
    page.get_by_role("button", name="提交答案").click()
    expect(page.locator("[data-result]")).to_contain_text("回答正确")
    assert [e for e in tab.errors if "503" not in e] == []
