"""In a real Chromium at phone width: a candidate answers a case (its material above its
sub-questions, folded away with a tap) and a short answer, and submits; a marker marks the
short answer on a phone; the candidate then sees the result."""

import os
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from core.audit import SYSTEM
from core.extensions import db
from training.exams import marking
from training.exams.models import CASE_SECTION, Attempt
from training.exams.setup import SectionData

from ..factories import CASE_MATERIAL, add_case, add_questions, add_written, make_exam
from .test_exam_browser import Page, answer, browser, live_server  # noqa: F401 (fixtures)

PHONE = {"width": 390, "height": 844}
#: set to a folder to keep screenshots of the pages (looked at by hand)
SHOTS = os.environ.get("SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_candidate_answers_a_case_on_a_phone(app, law, live_server, browser, make_user):  # noqa: F811
    add_questions("single", 1)
    add_case(parts=3)
    learner = make_user(name="王五")
    exam = make_exam(
        sections=[("single", 1, 2), SectionData(CASE_SECTION, 1, Decimal(10))], roster=[learner]
    )
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    tab = Page(context)
    page = tab.page
    tab.login(live_server, learner)
    page.goto(f"{live_server}/exams/{exam.id}")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url("**/attempts/*")
    expect(page.locator("[data-item-id]")).to_have_count(4)
    material = page.locator(".exam-material")
    expect(material).to_contain_text(CASE_MATERIAL)
    expect(material).to_contain_text("5000元")  # the table
    # The case's three sub-questions follow its material, in one group.
    expect(page.locator(".exam-case [data-item-id]")).to_have_count(3)
    expect(page.locator(".exam-nav-case button")).to_have_count(3)
    shot(page, "case-phone")
    page.locator(".exam-material > summary").click()  # folded away on a phone
    expect(page.locator(".exam-material p")).to_be_hidden()
    page.locator(".exam-material > summary").click()
    expect(page.locator(".exam-material p")).to_be_visible()
    for position in range(1, 5):
        answer(page, position, 0)
    expect(page.locator("[data-save-state]")).to_have_text("已保存")
    page.click("[data-submit] >> nth=0")
    page.wait_for_url("**/result")
    assert tab.errors == []
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    assert attempt.status == "submitted" and all(i.earned is not None for i in attempt.items)
    assert sum(1 for item in attempt.items if item.case_version_id) == 3
    context.close()


def test_case_and_short_answer_marked_then_the_result(app, law, live_server, browser, make_user):  # noqa: F811
    add_case(parts=2)
    add_written()
    learner = make_user(name="赵六")
    marker = make_user(name="阅卷员")  # named by the exam, not a trainer
    exam = make_exam(
        sections=[SectionData(CASE_SECTION, 1, Decimal(4)), ("short_answer", 1, 10)],
        roster=[learner],
        pass_mark=Decimal(8),
        grade_bands=[],
    )
    marking.set_markers(SYSTEM, exam, [marker.login])
    db.session.commit()
    phone = {"locale": "zh-CN", "viewport": PHONE, "is_mobile": True, "has_touch": True}
    context = browser.new_context(**phone)
    tab = Page(context)
    page = tab.page
    tab.login(live_server, learner)
    page.goto(f"{live_server}/exams/{exam.id}")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url("**/attempts/*")
    expect(page.locator("[data-item-id]")).to_have_count(3)
    answer(page, 1, 0)
    answer(page, 2, 0)
    box = page.locator("#q-3 textarea")
    box.fill("应当先行告知当事人，并听取其陈述和申辩。")
    expect(page.locator("#q-3 .exam-count")).to_have_text("20 / 800 字")
    shot(page, "written-phone")
    box.press("Tab")
    expect(page.locator("[data-save-state]")).to_have_text("已保存")
    page.reload()  # the text was saved on the server, not just kept on the page
    expect(page.locator("#q-3 textarea")).to_have_value("应当先行告知当事人，并听取其陈述和申辩。")
    page.click("[data-submit] >> nth=0")
    page.wait_for_url("**/result")
    expect(page.locator("body")).to_contain_text("待阅卷")
    assert tab.errors == []
    context.close()

    # The marker, on a phone: finds 阅卷 in the menu, marks blind, ticks a marking point
    # with a key, submits.
    context = browser.new_context(**phone)
    desk = Page(context)
    page = desk.page
    desk.login(live_server, marker)
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="展开菜单").click()
    page.get_by_role("link", name="阅卷", exact=True).click()
    page.wait_for_url("**/marking/")
    page.get_by_text(exam.title).click()
    page.get_by_role("link", name="评阅下一份").click()
    page.wait_for_url("**/marking/answers/*")
    expect(page.locator(".marking-answer")).to_contain_text("听取其陈述和申辩")
    expect(page.locator("body")).not_to_contain_text("赵六")
    page.locator("h1").click()  # leave the score field, so number keys tick points
    page.keyboard.press("2")
    expect(page.locator("#point-1")).to_be_checked()
    expect(page.locator("[data-score]")).to_have_value("6")
    shot(page, "marking-phone")
    page.get_by_role("button", name="提交并评阅下一份（Enter）").click()
    expect(page.locator("body")).to_contain_text("暂时没有需要您评阅的答卷")
    assert desk.errors == []
    context.close()

    context = browser.new_context(**phone)
    tab = Page(context)
    page = tab.page
    tab.login(live_server, learner)
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    assert not attempt.awaiting_marks and attempt.score is not None
    written = next(i for i in attempt.items if i.question_version.type == "short_answer")
    assert written.earned == Decimal(6)
    page.goto(f"{live_server}/attempts/{attempt.id}/result")
    shown = f"{attempt.score.normalize():f} 分（满分 14 分"
    expect(page.locator("body")).to_contain_text(shown)
    expect(page.locator("body")).not_to_contain_text("待阅卷")
    context.close()
