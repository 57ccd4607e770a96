"""Every input on every page names itself: the walk of tests/test_access.py, GET pages
only, for each role, and each <input>, <select> and <textarea> must have a <label for>,
sit inside a <label>, or carry aria-label or aria-labelledby."""

import re
from html.parser import HTMLParser

import pytest

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from core.roles import Role
from tests.factories import add_questions, add_written, make_exam, take
from tests.test_access import (
    ANY_USER,
    CAPTCHA,
    EXPECTED_ACCESS,
    PUBLIC,
    ROLES,
    _attempt_values,
    _bank_values,
    _exam_values,
    _marking_values,
    _records_values,
    _routes,
    _study_values,
)
from training.exams import attempts, marking
from training.exams.models import Attempt

#: inputs that are not fields a person fills in
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and (attributes.get("type") or "text") in UNLABELLED_TYPES:
                return
            self.fields.append({**attributes, "tag": tag, "wrapped": self.open_labels > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)

    def unlabelled(self) -> list[str]:
        return [
            f"<{field['tag']} name={field.get('name')!r} id={field.get('id')!r}>"
            for field in self.fields
            if not (
                field["wrapped"]
                or field.get("aria-label")
                or field.get("aria-labelledby")
                or (field.get("id") and field["id"] in self.label_for)
            )
        ]


def unlabelled_fields(html: str) -> list[str]:
    parser = _Fields()
    parser.feed(html)
    parser.close()
    return parser.unlabelled()


def test_the_check_finds_an_unlabelled_field():
    html = (
        '<label for="a">甲</label><input id="a" name="a">'
        '<label>乙 <input name="b"></label>'
        '<input name="c" aria-label="丙"><input type="hidden" name="csrf_token">'
        '<select name="d"></select><input type="date" name="e" id="e">'
    )
    assert unlabelled_fields(html) == ["<select name='d' id=None>", "<input name='e' id='e'>"]


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.value if role else "anonymous")
def test_every_input_on_every_page_has_a_label(app, make_user, make_unit, root_unit, role):
    target_unit = make_unit("下级单位", parent=root_unit)
    target = make_user(unit=target_unit)
    client = app.test_client()
    actor = None
    if role is not None:
        actor = make_user(role)
        client.post("/login", data={"login": actor.login, "password": "Passw0rd!"})
    values = {"user_id": target.id, "unit_id": target_unit.id, "filename": "css/app.css"}
    values |= _bank_values(actor.id if actor else None)
    values |= _exam_values(target)
    values |= _attempt_values(target, values["exam_id"])
    values |= _study_values()
    values |= _records_values(target, values["exam_id"])
    values |= _marking_values(target, make_user(Role.TRAINER))
    problems, pages = {}, 0
    for rule, method in _routes(app):
        expected = EXPECTED_ACCESS[rule.endpoint]
        if method != "GET" or expected == CAPTCHA or rule.endpoint == "auth.logout":
            continue
        if expected not in (PUBLIC, ANY_USER) and role not in expected:
            continue
        url = rule.build({arg: values[arg] for arg in rule.arguments})[1]
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages += 1
            if missing := unlabelled_fields(response.text):
                problems[url] = missing
        response.close()
    assert pages
    assert problems == {}


def test_the_account_menu_is_labelled_and_leads_to_the_password_page(client, login_as):
    login_as(Role.LEARNER, name="李四")
    page = client.get("/").text
    menu = re.search(
        r"<button[^>]*data-account-menu[^>]*>([^<]*)</button>\s*<ul[^>]*>(.*?)</ul>", page, re.S
    )
    assert menu and menu.group(1) == "账户（李四）"
    assert '<a class="dropdown-item" href="/account/password">修改密码</a>' in menu.group(2)


MENU_LINK = '<a class="nav-link" href="/marking/">阅卷</a>'


def test_a_named_marker_who_is_no_trainer_finds_marking_in_the_menu(
    app, make_user, client, auth, law
):
    """The menu's 阅卷 link: for a named marker while an answer waits for them, never while
    they write an exam, and not once nothing is left; their marking pages are labelled."""
    candidate, marker, bystander = (make_user(name=name) for name in ("考生", "阅卷员", "旁人"))
    add_written()
    exam = make_exam(
        sections=[("short_answer", 1, 10)], roster=[candidate], pass_mark=5, grade_bands=[]
    )
    attempt = take(candidate, exam)
    marking.set_markers(SYSTEM, exam, [marker.login])
    db.session.commit()

    auth.login(bystander)
    assert MENU_LINK not in client.get("/").text
    auth.logout()
    auth.login(marker)
    home = client.get("/").text
    assert MENU_LINK in home
    (item,) = attempt.items
    for url in ("/marking/", f"/marking/exams/{exam.id}", f"/marking/answers/{item.id}"):
        page = client.get(url)
        assert page.status_code == 200 and MENU_LINK in page.text, url
        assert unlabelled_fields(page.text) == [], url

    # Writing an exam of their own: no link (and the marking screens are closed).
    add_questions("true_false", 1)
    own = make_exam(sections=[("true_false", 1, 10)], roster=[marker])
    writing = take(marker, own, submit=False)
    assert MENU_LINK not in client.get("/").text
    attempts.submit(writing, clock.now(), "candidate")
    db.session.commit()
    assert MENU_LINK in client.get("/").text

    # Marked: nothing left for them, no link.
    client.post(f"/marking/answers/{item.id}", data={"round": "1", "score": "6"})
    db.session.expire_all()
    assert not db.session.get(Attempt, attempt.id).awaiting_marks
    assert MENU_LINK not in client.get("/").text
