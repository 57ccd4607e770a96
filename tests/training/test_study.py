"""Study modules: versions, lesson order, publish and retire, sanitised lessons, reading
progress, the quiz through the exam engine, completion and its credit, programs."""

import random
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from tests.factories import add_questions, make_module, take
from training.exams.models import Exam, ExamKind
from training.study import learning, modules
from training.study.markdown import render
from training.study.models import (
    LessonOpened,
    ModuleCompletion,
    ProgramCompletion,
    Status,
)

WRONG = {"true_false": [1], "single": [0]}


@pytest.fixture
def bank(law):
    return add_questions("true_false", 3) + add_questions("single", 3)


def _read_all(user, module):
    for lesson in learning.studied_version(user, module).lessons:
        learning.open_lesson(user, module, lesson.key, clock.now())
    db.session.commit()


def _quiz_exam(user, module) -> Exam:
    return db.session.get(Exam, learning.studied_version(user, module).quiz_exam_id)


# --- sanitising ---------------------------------------------------------------------------

HOSTILE = """# 标题
<script>alert("x")</script>
<img src=x onerror="alert(1)">
<div style="position:fixed" onclick="steal()">覆盖</div>
[点我](javascript:alert(1)) [数据](data:text/html;base64,PHNjcmlwdD4=)
<a href="https://evil.example" onmouseover="x()">链接</a>
![图](https://evil.example/pixel.png)
| 列 | 列 |
|:--|--:|
| <iframe src="https://evil.example"></iframe> | **粗** |
<!-- 注释 -->
[正常](https://www.npc.gov.cn/)
"""


class _Tags(HTMLParser):
    """Every element and attribute of rendered HTML (text, escaped or not, is not one)."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend(attrs)

    def handle_comment(self, data):
        self.tags.add("<!--")


def _elements(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def test_hostile_markdown_renders_inert():
    html = str(render(HOSTILE))
    found = _elements(html)
    assert found.tags <= {"h2", "p", "a", "strong", "table", "thead", "tbody", "tr", "th", "td"}
    names = {name for name, _ in found.attributes}
    assert names <= {"href", "rel"}, names  # no event handler, no style
    hrefs = [value for name, value in found.attributes if name == "href"]
    assert hrefs == ["https://www.npc.gov.cn/"]  # javascript:, data: and raw <a> are gone
    # Raw HTML shows as text; Markdown still works.
    assert "&lt;script&gt;" in html
    assert "<h2>标题</h2>" in html and "<strong>粗</strong>" in html


def test_a_lesson_page_shows_hostile_markdown_inert(client, login_as, bank):
    module = make_module(lessons=0, publish=False)
    modules.save_lesson(SYSTEM, module, modules.LessonData("危险课程", HOSTILE))
    db.session.commit()
    login_as(Role.TRAINER)
    page = client.get(f"/study/manage/modules/{module.id}/preview/2/1").text
    body = page.split('<div class="lesson-body">')[1].split("</div>")[0]
    found = _elements(body)
    assert not found.tags & {"script", "img", "iframe", "div"}
    assert {name for name, _ in found.attributes} <= {"href", "rel"}


# --- versions -----------------------------------------------------------------------------


def test_an_edit_makes_a_new_version_and_no_change_makes_none(bank):
    module = make_module(lessons=1, publish=False)
    assert module.current_number == 2  # created, then a lesson added
    data = modules.module_data_of(module.current)
    assert modules.save_module(SYSTEM, module, data) is None
    key = module.current.lessons[0].key
    same = modules.lesson_data_of(module.current.lessons[0])
    assert modules.save_lesson(SYSTEM, module, same, key)[1] is None
    assert module.current_number == 2
    data.title = "改过的名称"
    version = modules.save_module(SYSTEM, module, data)
    assert version.number == 3 and module.current.title == "改过的名称"
    assert module.version(2).title == "测试模块"  # the old version is untouched
    assert [lesson.key for lesson in module.version(2).lessons] == [key]


def test_lessons_keep_their_keys_and_reorder_in_a_new_version(bank):
    module = make_module(lessons=3, publish=False)
    keys = [lesson.key for lesson in module.current.lessons]
    before = module.current_number
    modules.move_lesson(SYSTEM, module, keys[2], -1)
    assert [lesson.key for lesson in module.current.lessons] == [keys[0], keys[2], keys[1]]
    assert module.version(before).lessons[1].key == keys[1]
    assert modules.move_lesson(SYSTEM, module, keys[0], -1) is None  # already first
    modules.remove_lesson(SYSTEM, module, keys[0])
    assert [lesson.key for lesson in module.current.lessons] == [keys[2], keys[1]]


def test_a_lesson_cites_law_in_the_bank_notation_and_existing_questions(bank):
    module = make_module(lessons=0, publish=False)
    key, _ = modules.save_lesson(
        SYSTEM,
        module,
        modules.LessonData("课", "正文", "《宪法》（2018年修正）第5条、第33条第2款", [bank[0].id]),
    )
    assert module.current.lesson(key).law_refs == "宪法（2018年修正）第5条、第33条第2款"
    for refs, message in [
        ("宪法第", "条款"),
        ("刑法第1条", "法律库中没有「刑法」"),
        ("宪法（1954年）第1条", "没有登记版本"),
    ]:
        with pytest.raises(modules.StudyError) as error:
            modules.save_lesson(SYSTEM, module, modules.LessonData("课", "正文", refs))
        assert message in error.value.fields["law_refs"]
    with pytest.raises(modules.StudyError) as error:
        modules.save_lesson(SYSTEM, module, modules.LessonData("课", "正文", "", [999999]))
    assert "#999999" in error.value.fields["question_ids"]


def test_publish_makes_the_quiz_an_exam_of_the_module_quiz_kind(bank):
    module = make_module(quiz=(("quiz_true_false", 2), ("quiz_single", 1)))
    exam = db.session.get(Exam, module.published.quiz_exam_id)
    assert exam.kind == ExamKind.MODULE_QUIZ.value and exam.status == "published"
    assert exam.blueprint.random_per_candidate
    assert [(s.question_type, s.count) for s in exam.blueprint.sections] == [
        ("single", 1),
        ("true_false", 2),
    ]
    assert exam.pass_mark == Decimal(2)  # 60% of 3, rounded up
    with pytest.raises(modules.StudyError, match="已经发布"):
        modules.publish_module(SYSTEM, module, clock.now())


def test_a_quiz_the_bank_cannot_fill_is_not_published(bank):
    module = make_module(quiz=(("quiz_multiple", 5),), publish=False)
    with pytest.raises(modules.StudyError, match="无法组卷"):
        modules.publish_module(SYSTEM, module, clock.now())


def test_retire_closes_the_quiz_and_never_deletes(bank, make_user):
    module = make_module()
    exam_id = module.published.quiz_exam_id
    modules.retire_module(SYSTEM, module)
    db.session.commit()
    assert module.status == Status.RETIRED.value and len(module.versions) == 3
    assert db.session.get(Exam, exam_id).status == "closed"
    with pytest.raises(modules.StudyError, match="停用"):
        modules.save_module(SYSTEM, module, modules.module_data_of(module.current))


# --- learning -----------------------------------------------------------------------------


def test_opened_lessons_without_the_quiz_earn_nothing(bank, learner):
    module = make_module()
    _read_all(learner, module)
    assert learning.progress(learner, module).all_opened
    assert learning.sync_completion(learner, module, clock.now()) is None
    assert learning.study_record(learner.id).credit_hours == 0


def test_the_quiz_needs_every_lesson_opened(bank, learner):
    module = make_module(lessons=2)
    first = module.published.lessons[0]
    learning.open_lesson(learner, module, first.key, clock.now())
    with pytest.raises(modules.StudyError, match="已读 1/2"):
        learning.start_quiz(learner, module, clock.now(), random.Random(1))


def test_a_failed_quiz_earns_nothing_and_a_passed_one_completes_with_credit(bank, learner):
    module = make_module(credit_hours="2.5")
    _read_all(learner, module)
    exam = _quiz_exam(learner, module)
    learning.start_quiz(learner, module, clock.now(), random.Random(1))
    db.session.commit()
    failed = take(learner, exam, answers=WRONG)
    assert failed.passed is False
    assert learning.sync_completion(learner, module, clock.now()) is None
    learning.start_quiz(learner, module, clock.now(), random.Random(2))
    db.session.commit()
    passed = take(learner, exam)
    assert passed.passed
    done = learning.sync_completion(learner, module, clock.now())
    assert done.attempt_id == passed.id and done.credit_hours == Decimal("2.5")
    assert done.version_id == module.published.id
    assert learning.study_record(learner.id).credit_hours == Decimal("2.5")
    assert learning.sync_completion(learner, module, clock.now()) is done  # once only
    with pytest.raises(modules.StudyError, match="已完成"):
        learning.start_quiz(learner, module, clock.now(), random.Random(3))


def test_an_edit_while_studying_loses_nothing(bank, learner):
    module = make_module(lessons=2)
    studied = module.published
    first, second = studied.lessons
    learning.open_lesson(learner, module, first.key, clock.now())
    db.session.commit()
    # The trainer rewrites the first lesson, adds one and publishes the new version.
    modules.save_lesson(SYSTEM, module, modules.LessonData("新第一课", "新正文"), first.key)
    modules.save_lesson(SYSTEM, module, modules.LessonData("第三课", "正文"))
    modules.publish_module(SYSTEM, module, clock.now(), random.Random(1))
    db.session.commit()
    state = learning.progress(learner, module)
    assert state.version.id == studied.id and state.newer_offered
    assert state.opened_count == 1 and [x.title for x in state.lessons] == ["第1课", "第2课"]
    assert learning.open_lesson(learner, module, first.key, clock.now()).title == "第1课"
    learning.open_lesson(learner, module, second.key, clock.now())
    attempt = learning.start_quiz(learner, module, clock.now(), random.Random(1))
    assert attempt.exam_id == studied.quiz_exam_id
    db.session.commit()
    take(learner, attempt.exam)
    done = learning.sync_completion(learner, module, clock.now())
    assert done.version_id == studied.id  # the completion keeps the version studied
    # Progress never moves back: a further version changes neither record.
    modules.remove_lesson(SYSTEM, module, second.key)
    modules.publish_module(SYSTEM, module, clock.now(), random.Random(1))
    db.session.commit()
    assert learning.completion(learner.id, module.id).version_id == studied.id
    assert db.session.scalar(select(db.func.count()).select_from(LessonOpened)) == 2


def test_a_program_completes_when_all_its_modules_do(bank, learner):
    first, second = make_module(title="模块一"), make_module(title="模块二")
    program = modules.save_program(
        SYSTEM, modules.ProgramData("民法典学习课程", "", [second.id, first.id])
    )
    modules.publish_program(SYSTEM, program)
    db.session.commit()
    assert program.modules == [second, first]
    for module in (first, second):
        _read_all(learner, module)
        attempt = learning.start_quiz(learner, module, clock.now(), random.Random(1))
        db.session.commit()
        take(learner, attempt.exam)
        learning.sync_completion(learner, module, clock.now())
        done = learning.program_completion(learner.id, program.id)
        assert (done is not None) == (module is second)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(ProgramCompletion)) == 1


def test_a_program_of_unpublished_modules_is_not_published(bank):
    draft = make_module(publish=False)
    program = modules.save_program(SYSTEM, modules.ProgramData("课程", "", [draft.id]))
    with pytest.raises(modules.StudyError, match="尚未发布"):
        modules.publish_program(SYSTEM, program)
    with pytest.raises(modules.StudyError, match="至少选择"):
        modules.save_program(SYSTEM, modules.ProgramData("课程", "", []))


# --- pages --------------------------------------------------------------------------------


def test_trainer_writes_previews_and_publishes_through_the_pages(client, login_as, bank):
    login_as(Role.TRAINER)
    response = client.post(
        "/study/manage/modules/new",
        data={
            "title": "",
            "credit_hours": "1",
            "quiz_law_id": 0,
            "quiz_topic_id": 0,
            "quiz_single": 0,
            "quiz_multiple": 0,
            "quiz_true_false": 1,
            "quiz_pass_percent": 60,
        },
    )
    assert "请填写模块名称" in response.text
    response = client.post(
        "/study/manage/modules/new",
        data={
            "title": "宪法模块",
            "summary": "简介",
            "credit_hours": "1.5",
            "quiz_law_id": 0,
            "quiz_topic_id": 0,
            "quiz_single": 0,
            "quiz_multiple": 0,
            "quiz_true_false": 2,
            "quiz_pass_percent": 60,
        },
    )
    assert response.status_code == 302
    module_id = int(response.location.rstrip("/").split("/")[-1])
    bad = client.post(
        f"/study/manage/modules/{module_id}/lessons/new",
        data={"title": "第一课", "law_refs": "宪法第一百万条", "question_ids": "", "body": "正文"},
    )
    assert "法律依据" in bad.text and bad.status_code == 200
    ok = client.post(
        f"/study/manage/modules/{module_id}/lessons/new",
        data={"title": "第一课", "law_refs": "宪法第5条", "question_ids": "", "body": "**正文**"},
    )
    assert ok.status_code == 302
    preview = client.get(f"/study/manage/modules/{module_id}/preview/2/1").text
    assert "<strong>正文</strong>" in preview and "预览" in preview
    assert 'href="/laws/cite?law=' in preview
    published = client.post(f"/study/manage/modules/{module_id}/publish", follow_redirects=True)
    assert "已发布" in published.text
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"study.module.save", "study.module.publish"} <= actions


def test_learner_reads_and_takes_the_quiz_through_the_pages(client, login_as, bank):
    module = make_module()
    learner = login_as(Role.LEARNER)
    home = client.get("/study/").text
    assert ("测试模块" in home and "0 学时" in home) or "共 0 学时" in home
    page = client.get(f"/study/modules/{module.id}").text
    assert "已读 0/2 课" in page and "开始测验" not in page
    refused = client.post(f"/study/modules/{module.id}/quiz", follow_redirects=True)
    assert "请先学习本模块的课程" in refused.text
    for lesson in module.published.lessons:
        assert lesson.title in client.get(f"/study/modules/{module.id}/lessons/{lesson.key}").text
    assert "开始测验" in client.get(f"/study/modules/{module.id}").text
    started = client.post(f"/study/modules/{module.id}/quiz")
    assert started.status_code == 302 and "/attempts/" in started.location
    attempt_id = int(started.location.split("/")[-1])
    from training.exams.models import Attempt

    attempt = db.session.get(Attempt, attempt_id)
    for seq, item in enumerate(attempt.items, 1):
        client.post(
            f"/attempts/{attempt_id}/answers",
            json={"item_id": item.id, "answer": list(item.question_version.answer), "seq": seq},
        )
    client.post(f"/attempts/{attempt_id}/submit")
    assert "已完成 1 个模块，共 2.0 学时" in client.get("/study/").text
    page = client.get(f"/study/modules/{module.id}").text
    assert "已完成" in page and "2.0 学时" in page
    assert db.session.scalar(select(ModuleCompletion.user_id)) == learner.id


def test_a_learner_sees_neither_drafts_nor_others_progress(client, login_as, bank, make_user):
    draft = make_module(publish=False)
    login_as(Role.LEARNER)
    assert client.get(f"/study/modules/{draft.id}").status_code == 404
    assert client.get(f"/study/modules/{draft.id}/lessons/1").status_code == 404


def test_article_mentions_in_a_lesson_link_to_the_version_its_basis_names(client, login_as, bank):
    module = make_module(lessons=0, publish=False)
    body = (
        "依照《宪法》第5条，<b>不是标签</b>；[外部](https://www.npc.gov.cn/)；`宪法第6条`。\n\n"
        "| 依据 |\n|---|\n| 宪法第33条第2款 |\n"
    )
    modules.save_lesson(
        SYSTEM, module, modules.LessonData("课", body, "宪法（2018年修正）第5条、第33条")
    )
    db.session.commit()
    login_as(Role.TRAINER)
    page = client.get(f"/study/manage/modules/{module.id}/preview/2/1").text
    body_html = page.split('<div class="lesson-body">')[1].split("</div>")[0]
    cites = [v for n, v in _elements(body_html).attributes if n == "href" and "/laws/cite" in v]
    assert len(cites) == 2  # 第5条 and 第33条第2款, not the one in code
    assert all("version=2018" in href for href in cites)
    assert "paragraph=2" in cites[1]
    assert "&lt;b&gt;不是标签&lt;/b&gt;" in body_html and "<code>宪法第6条</code>" in body_html


def test_a_retired_module_leaves_the_program_page_but_for_those_who_started_it(
    client, login_as, bank, make_user
):
    kept, retired = make_module(title="保留的模块"), make_module(title="停用的模块")
    program = modules.save_program(SYSTEM, modules.ProgramData("课程", "", [kept.id, retired.id]))
    modules.publish_program(SYSTEM, program)
    reader = make_user()
    _read_all(reader, retired)
    modules.retire_module(SYSTEM, retired)
    db.session.commit()
    login_as(Role.LEARNER)
    page = client.get(f"/study/programs/{program.id}").text
    assert "保留的模块" in page and "停用的模块" not in page
    client.post("/logout")
    client.post("/login", data={"login": reader.login, "password": "Passw0rd!"})
    assert "停用的模块" in client.get(f"/study/programs/{program.id}").text
    assert "第1课" in client.get(f"/study/modules/{retired.id}/lessons/1").text
    refused = client.post(f"/study/modules/{retired.id}/quiz", follow_redirects=True)
    assert "考试未发布或已结束" in refused.text  # its quiz closed with it


def test_lessons_are_closed_while_writing_an_exam(law, make_user, client, auth):
    """An exam is closed book: the lessons quote the law."""
    from tests.factories import make_exam
    from training.exams import attempts

    add_questions("true_false", 3)
    module = make_module(lessons=1)
    person = make_user(Role.LEARNER)
    exam = make_exam(
        sections=[("true_false", 3, 1)], roster=[person], grade_bands=[], pass_mark=Decimal(2)
    )
    attempt = take(person, exam, submit=False)
    auth.login(person)
    lesson = f"/study/modules/{module.id}/lessons/1"
    refused = client.get(lesson)
    assert refused.status_code == 403 and "交卷之前不能打开" in refused.text
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert client.get(lesson).status_code == 200
