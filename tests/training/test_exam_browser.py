"""End to end in a real Chromium (the Debian package, driven by Playwright): take an exam,
lose the network half way, answer on, come back, reload, submit; then check in the
database that every answer arrived with its newest value and the attempt was scored.

The app is served from a thread (werkzeug) on the test's own database.
"""

import re
import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from core import clock
from core.extensions import db
from training.exams.models import Attempt, Response

from ..factories import add_batch, make_exam, standard_bank
from .test_outages import Database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "Passw0rd!"
WAIT_MS = 15_000


@pytest.fixture
def live_server(app):
    app.config["WTF_CSRF_ENABLED"] = True  # the page must send its token, as in production
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A browser page that records console errors and answers dialogs."""

    def __init__(self, context):
        self.page = context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.accept_dialogs = True
        self.page.on(
            "console", lambda message: message.type == "error" and self.errors.append(message.text)
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        if self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def login(self, base: str, user) -> None:
        self.page.goto(f"{base}/login")
        self.page.fill("#login", user.login)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base}/")


def answer(page, position: int, variant: int) -> list:
    """Answer question `position` on the page; returns the answer the server should hold."""
    section = page.locator(f"#q-{position}")
    kind = section.get_attribute("data-type")
    if kind == "fill_blank":
        texts = [f"答案{variant}甲", f"答案{variant}乙"]
        for index, text in enumerate(texts):
            section.locator(f"input[data-blank='{index}']").fill(text)
        section.locator("input[data-blank='1']").press("Tab")  # leaving the field saves
        return texts
    boxes = section.locator("input")
    if kind == "multiple":
        picks = [variant % 2, 2 + variant % 2]
        for index in range(boxes.count()):
            if index in picks:
                boxes.nth(index).check()
            else:
                boxes.nth(index).uncheck()
    else:
        picks = [variant % boxes.count()]
        boxes.nth(picks[0]).check()
    return sorted(int(boxes.nth(index).get_attribute("value")) for index in picks)


def shows(page, position: int, expected: list) -> bool:
    section = page.locator(f"#q-{position}")
    if section.get_attribute("data-type") == "fill_blank":
        inputs = section.locator("input[data-blank]")
        return [inputs.nth(i).input_value() for i in range(inputs.count())] == expected
    boxes = section.locator("input")
    checked = [
        int(boxes.nth(i).get_attribute("value"))
        for i in range(boxes.count())
        if boxes.nth(i).is_checked()
    ]
    return sorted(checked) == expected


def test_take_an_exam_offline_half_way_reload_and_submit(app, live_server, browser, make_user):
    standard_bank()
    learner = make_user(name="李四")
    exam = make_exam(roster=[learner], shuffle_questions=True, shuffle_choices=True)
    context = browser.new_context(locale="zh-CN")
    tab = Page(context)
    page = tab.page
    tab.login(live_server, learner)

    page.goto(f"{live_server}/exams/{exam.id}")
    page.get_by_role("button", name="开始考试").click()  # confirms "开始后立即计时…"
    page.wait_for_url("**/attempts/*")
    questions = page.locator("[data-item-id]")
    expect(questions).to_have_count(5)
    state = page.locator("[data-save-state]")
    expect(state).to_have_text("已保存")
    expect(page.locator("[data-timer]")).to_contain_text("剩余 ")

    expected = {}
    expected[1] = answer(page, 1, 0)
    expected[2] = answer(page, 2, 1)
    expected[1] = answer(page, 1, 1)  # changed: the newer answer must win
    expect(state).to_have_text("已保存")

    context.set_offline(True)
    expected[3] = answer(page, 3, 1)
    expect(state).to_have_text("离线，答案暂存本机")
    expected[4] = answer(page, 4, 2)
    expected[2] = answer(page, 2, 2)
    expect(state).to_have_text("离线，答案暂存本机")
    page.click("[data-flag]:visible >> nth=0")
    context.set_offline(False)
    expect(state).to_have_text("已保存")

    page.reload()
    expect(questions).to_have_count(5)
    expect(state).to_have_text("已保存")
    for position, value in expected.items():
        assert shows(page, position, value), position
    expect(page.locator("#q-1")).to_have_class("card mb-3 exam-question exam-question-flagged")
    expect(page.locator("[data-progress]")).to_have_text("已答 4 / 5")

    tab.accept_dialogs = False  # first a submit that names the question left, then cancel
    page.click("[data-submit] >> nth=0")
    assert "还有第 5 题未作答" in tab.dialogs[-1]
    expected[5] = answer(page, 5, 3)
    expect(state).to_have_text("已保存")
    tab.accept_dialogs = True
    page.click("[data-submit] >> nth=0")
    page.wait_for_url("**/result")
    assert "已全部作答" in tab.dialogs[-1]
    expect(page.locator(".exam-score")).to_contain_text("成绩")
    assert tab.errors == []

    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    assert (attempt.status, attempt.submitted_by) == ("submitted", "candidate")
    assert attempt.score is not None and all(item.earned is not None for item in attempt.items)
    held = {
        response.item_id: response.answer
        for response in db.session.scalars(
            select(Response).where(Response.attempt_id == attempt.id)
        )
    }
    assert held == {attempt.items[p - 1].id: value for p, value in expected.items()}
    context.close()


def test_at_the_deadline_the_page_sends_its_answers_and_submits(
    app, live_server, browser, make_user
):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    tab = Page(browser.new_context())
    page = tab.page
    tab.login(live_server, learner)
    page.goto(f"{live_server}/exams/{exam.id}")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url("**/attempts/*")
    expect(page.locator("[data-item-id]")).to_have_count(5)
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    attempt.deadline_at = clock.now() + timedelta(seconds=6)  # as if time had run on
    db.session.commit()
    page.reload()
    expect(page.locator("[data-timer]")).to_contain_text("剩余 00:0")
    chosen = answer(page, 1, 1)
    page.wait_for_url("**/result", timeout=30_000)
    assert tab.errors == []
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    # The page itself submitted (within the grace), before any server-side expiry.
    assert (attempt.status, attempt.submitted_by) == ("submitted", "candidate")
    assert attempt.score is not None
    held = db.session.scalar(select(Response).where(Response.attempt_id == attempt.id))
    assert (held.item_id, held.answer) == (attempt.items[0].id, chosen)


def test_two_tabs_stay_consistent(app, live_server, browser, make_user):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    context = browser.new_context()
    first = Page(context)
    first.login(live_server, learner)
    first.page.goto(f"{live_server}/exams/{exam.id}")
    first.page.get_by_role("button", name="开始考试").click()
    first.page.wait_for_url("**/attempts/*")
    second = Page(context)
    second.page.goto(first.page.url)
    for tab in (first, second):
        expect(tab.page.locator("[data-item-id]")).to_have_count(5)

    chosen = answer(first.page, 1, 0)
    expect(first.page.locator("[data-save-state]")).to_have_text("已保存")
    expect(second.page.locator("#q-1 input:checked")).to_have_count(1)
    assert shows(second.page, 1, chosen)
    chosen = answer(second.page, 1, 1)  # the later answer, from the other tab, wins
    expect(second.page.locator("[data-save-state]")).to_have_text("已保存")
    expect(first.page.locator(f"#q-1 input[value='{chosen[0]}']")).to_be_checked()

    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    held = db.session.scalar(select(Response).where(Response.attempt_id == attempt.id))
    assert (held.item_id, held.answer) == (attempt.items[0].id, chosen)
    assert first.errors == second.errors == []
    context.close()


def test_the_exam_page_fits_a_phone(app, live_server, browser, make_user):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    tab = Page(context)
    page = tab.page
    tab.login(live_server, learner)
    page.goto(f"{live_server}/exams/{exam.id}")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url("**/attempts/*")
    expect(page.locator("[data-item-id]")).to_have_count(5)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    navigation = page.locator("#exam-nav")
    expect(navigation).to_be_hidden()
    page.click("[data-toggle-nav]")
    expect(navigation).to_be_visible()
    page.click("[data-goto='4']")
    expect(navigation).to_be_hidden()
    expect(page.locator("[data-submit] >> nth=0")).to_be_in_viewport()  # the sticky bar
    assert tab.errors == []
    context.close()


def _start(tab, base, exam) -> None:
    page = tab.page
    page.goto(f"{base}/exams/{exam.id}")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url("**/attempts/*")
    expect(page.locator("[data-item-id]")).to_have_count(5)
    expect(page.locator("[data-save-state]")).to_have_text("已保存")


def wait_for_the_offline_copy(page) -> None:
    """Until the service worker controls the page and holds its copy (polled from here:
    the page's CSP forbids the eval that wait_for_function would use)."""
    ready = (
        "navigator.serviceWorker.controller !== null && "
        "caches.open('exam-pages').then((cache) => cache.match(location.href)).then(Boolean)"
    )
    for _ in range(100):
        if page.evaluate(f"async () => {ready}"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("no offline copy of the exam page")


def _held(learner) -> dict:
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    return {
        response.item_id: response.answer
        for response in db.session.scalars(
            select(Response).where(Response.attempt_id == attempt.id)
        )
    }


def test_a_reload_offline_opens_the_exam_from_the_device_with_its_queued_answers(
    app, live_server, browser, make_user
):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    context = browser.new_context()
    tab = Page(context)
    page = tab.page
    tab.login(live_server, learner)
    _start(tab, live_server, exam)
    state = page.locator("[data-save-state]")
    banner = page.locator("[data-kept-banner]")
    nav = page.locator("[data-goto]")
    wait_for_the_offline_copy(page)

    saved = answer(page, 1, 1)
    expect(state).to_have_text("已保存")
    expect(banner).to_be_hidden()
    context.set_offline(True)
    queued = answer(page, 2, 2)
    expect(state).to_have_text("离线，答案暂存本机")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("答案已保存在本设备上")
    # 答题卡: the saved answer solid, the queued one apart, and said so.
    expect(nav.nth(0)).to_have_class(re.compile(r"\bbtn-primary\b"))
    expect(nav.nth(0)).not_to_have_class(re.compile(r"\bexam-queued\b"))
    expect(nav.nth(1)).to_have_class(re.compile(r"\bexam-queued\b"))
    expect(nav.nth(1)).to_have_attribute("aria-label", "第 2 题，已答，待发送")

    page.reload()  # no network: the device's copy of the page and its paper
    expect(page.locator("[data-item-id]")).to_have_count(5)
    assert shows(page, 1, saved) and shows(page, 2, queued)
    expect(banner).to_be_visible()
    expect(nav.nth(1)).to_have_class(re.compile(r"\bexam-queued\b"))
    expect(page.locator("[data-timer]")).to_contain_text("剩余 ")
    queued_later = answer(page, 3, 1)  # answering goes on offline

    context.set_offline(False)
    expect(state).to_have_text("已保存")
    expect(banner).to_be_hidden()
    expect(nav.nth(1)).not_to_have_class(re.compile(r"\bexam-queued\b"))
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    positions = {item.position: item.id for item in attempt.items}
    assert _held(learner) == {positions[1]: saved, positions[2]: queued, positions[3]: queued_later}
    assert tab.errors == []
    context.close()


def test_while_the_database_is_down_the_page_says_the_answers_are_kept_here(
    app, live_server, browser, make_user
):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    database = Database(app)
    try:
        tab = Page(browser.new_context())
        page = tab.page
        tab.login(live_server, learner)
        _start(tab, live_server, exam)
        wait_for_the_offline_copy(page)
        database.stop()
        chosen = answer(page, 1, 1)
        expect(page.locator("[data-save-state]")).to_have_text("服务器暂不可用，答案暂存本机")
        expect(page.locator("[data-kept-banner]")).to_contain_text("答案已保存在本设备上")
        page.reload()  # the server answers 503: the device's copy opens instead
        expect(page.locator("[data-item-id]")).to_have_count(5)
        assert shows(page, 1, chosen)
        database.start()
        expect(page.locator("[data-save-state]")).to_have_text("已保存", timeout=20_000)
        expect(page.locator("[data-kept-banner]")).to_be_hidden()
        assert list(_held(learner).values()) == [chosen]
        # 503s in the console are the outage itself; nothing else went wrong.
        assert [error for error in tab.errors if "503" not in error] == []
    finally:
        database.start()
        database.remove()


def test_flags_follow_the_attempt_to_a_second_device(app, live_server, browser, make_user):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    first = Page(browser.new_context())
    first.login(live_server, learner)
    _start(first, live_server, exam)
    first.page.click("#q-2 [data-flag]")
    first.page.click("#q-4 [data-flag]")
    first.page.click("#q-4 [data-flag]")  # and unflagged again
    first.page.click("#q-5 [data-flag]")
    expect(first.page.locator("#q-5 [data-flag]")).to_have_attribute("aria-pressed", "true")

    attempt_url = first.page.url
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    positions = {item.position: item.id for item in attempt.items}
    for _ in range(50):
        db.session.expire_all()
        if db.session.get(Attempt, attempt.id).flags == sorted([positions[2], positions[5]]):
            break
        first.page.wait_for_timeout(100)
    assert db.session.get(Attempt, attempt.id).flags == sorted([positions[2], positions[5]])

    second = Page(browser.new_context())  # another device: nothing in its storage
    second.login(live_server, learner)
    second.page.goto(attempt_url)
    expect(second.page.locator("[data-item-id]")).to_have_count(5)
    for position, flagged in ((1, False), (2, True), (4, False), (5, True)):
        expect(second.page.locator(f"#q-{position} [data-flag]")).to_have_attribute(
            "aria-pressed", str(flagged).lower()
        )
    expect(second.page.locator("[data-goto='2']")).to_have_class(re.compile(r"\bexam-flagged\b"))
    assert first.errors == second.errors == []


def test_a_jump_from_the_answer_sheet_focuses_the_question_not_a_choice(
    app, live_server, browser, make_user
):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[learner])
    tab = Page(browser.new_context(viewport={"width": 1280, "height": 900}))
    tab.login(live_server, learner)
    _start(tab, live_server, exam)
    tab.page.click("[data-goto='3']")
    expect(tab.page.locator("#q-3")).to_be_focused()
    assert tab.page.evaluate("document.activeElement.tagName") == "SECTION"
    assert tab.page.locator("#q-3 input:checked").count() == 0
    tab.page.keyboard.press("Tab")  # the keyboard goes on to the question's choices
    assert tab.page.evaluate("document.activeElement.closest('#q-3') !== null")


def test_the_waiting_room_counts_down_and_opens_the_paper_at_the_start(
    app, live_server, browser, make_user, frozen_clock
):
    standard_bank()
    learner = make_user()
    exam = make_exam(roster=[])
    opens_at = clock.now() + timedelta(seconds=3)
    add_batch(exam, [learner], opens_at=opens_at, closes_at=opens_at + timedelta(hours=2))
    app.config["EXAM_START_SPREAD_SECONDS"] = 2
    tab = Page(browser.new_context(viewport={"width": 390, "height": 844}))
    page = tab.page
    tab.login(live_server, learner)
    asked = []
    page.goto(f"{live_server}/exams/{exam.id}")
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"0:0[0-3]"))
    page.on("request", lambda request: asked.append((request.method, request.url)))
    # The server's clock reaches the start (the browser's own counted the 3 seconds).
    frozen_clock.now = opens_at + timedelta(seconds=1)
    page.wait_for_url("**/attempts/*", timeout=20_000)
    expect(page.locator("[data-item-id]")).to_have_count(5)
    assert tab.errors == []
    # Until the start the page asked the server nothing; then one start, then the paper.
    assert asked[0] == ("POST", f"{live_server}/exams/{exam.id}/start")
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == learner.id))
    assert attempt.started_at == frozen_clock.now
