"""Pages in a real Chromium at a phone's width (390 px) and a desktop's (1280 px): the bank's
cards fit the phone, and no column heading breaks inside a word."""

import pytest
from playwright.sync_api import sync_playwright

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from core.roles import Role
from question_bank import bank
from tests.factories import add_question, add_questions, make_exam, make_module
from tests.training.test_exam_browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, live_server
from training.study import modules

__all__ = ["live_server"]  # the fixture, used by name below

#: elements wider than the box that scrolls them (or than the page)
TOO_WIDE = """() => {
  const out = [];
  for (const el of document.querySelectorAll('main *')) {
    let box = document.documentElement.clientWidth;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') {
        box = Infinity;  // inside a box that scrolls by itself: reachable by a swipe
        break;
      }
      if (overflow === 'hidden') {
        box = p.getBoundingClientRect().right;
        break;
      }
    }
    const right = el.getBoundingClientRect().right;
    if (right > box + 0.5) out.push(`${el.tagName}.${el.className}: ${right} > ${box}`);
  }
  return out;
}"""
#: headings whose text takes more than one line
BROKEN_HEADINGS = """() => Array.from(document.querySelectorAll('th')).filter((th) => {
  const range = document.createRange();
  range.selectNodeContents(th);
  const lines = new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top)));
  return lines.size > 1;
}).map((th) => th.textContent.trim())"""


@pytest.fixture
def pages(live_server, make_user, law):
    questions = add_questions("single", 3) + add_questions("fill_blank", 2, law_name="行政处罚法")
    # A long stem squeezes the narrow columns, as real questions do; topics are badges
    # that do not wrap inside themselves.
    questions.append(add_question("true_false", "行政机关" * 60 + "。", ["正确", "错误"], [0]))
    for topic in ("刑事赔偿", "生命健康权赔偿", "赔偿方式和计算标准"):
        bank.bulk_tag(SYSTEM, questions, topic)
    db.session.commit()
    make_exam(sections=[("single", 3, 4)])
    trainer = make_user(Role.TRAINER)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def open_page(path: str, width: int):
            # The check reads the layout with a script; the pages' CSP forbids injected ones.
            context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
            page = context.new_page()
            page.goto(f"{live_server}/login")
            page.fill("#login", trainer.login)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{live_server}/**")
            page.goto(f"{live_server}{path}")
            return page

        yield open_page
        browser.close()


def test_the_bank_fits_a_phone(pages):
    page = pages("/bank/", 390)
    assert page.locator("table.table-stack tbody tr").count() == 6
    assert page.evaluate(TOO_WIDE) == []


@pytest.mark.parametrize("path", ["/bank/", "/manage/exams", "/bank/laws"])
def test_column_headings_stay_on_one_line_on_a_desktop(pages, path):
    page = pages(path, 1280)
    assert page.locator("th").count() > 0
    assert page.evaluate(BROKEN_HEADINGS) == []


WIDE_LESSON = (
    "## 一张宽表\n\n| 情形 | 行为能力 | 怎样实施民事法律行为 | 依据 |\n|---|---|---|---|\n"
    + "| 十八周岁以上的成年人，以及十六周岁以上以自己的劳动收入为主要生活来源的未成年人"
    " | 完全民事行为能力人 | 可以独立实施民事法律行为，不需要任何人同意或者追认 | 《宪法》第1条、第2条 |\n"
    + "\n### 案例一：某镇政府的合同\n\n"
    + "某镇人民政府与某公司签订的道路养护合同约定" * 20
    + "\n\n> 引用："
    + "行政机关" * 40
    + "\n"
)


def test_the_lesson_reader_fits_a_phone(live_server, make_user, law):
    add_questions("true_false", 2)
    module = make_module(lessons=0, publish=False)
    modules.save_lesson(
        SYSTEM, module, modules.LessonData("宽表格的课程", WIDE_LESSON, "宪法第1条")
    )
    modules.publish_module(SYSTEM, module, clock.now())
    db.session.commit()
    learner = make_user(Role.LEARNER)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 800}, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#login", learner.login)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/**")
        for path in (
            f"/study/modules/{module.id}/lessons/1",
            f"/study/modules/{module.id}",
            "/study/",
        ):
            page.goto(f"{live_server}{path}")
            assert page.locator("main h1").count() == 1, path
            assert page.evaluate(TOO_WIDE) == [], path
        page.goto(f"{live_server}/study/modules/{module.id}/lessons/1")
        # A citation in a table cell reads on one line, not a character a line.
        cited = page.locator(".lesson-body td a").first
        assert cited.evaluate("(a) => a.getClientRects().length") == 1
        browser.close()
