"""In a real Chromium at phone width: a candidate answers a case (its material above its
sub-questions, folded away with a tap) and submits; the answers arrive and are scored."""

import os
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from core.extensions import db
from training.exams.models import CASE_SECTION, Attempt
from training.exams.setup import SectionData

from ..factories import CASE_MATERIAL, add_case, add_questions, make_exam
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
