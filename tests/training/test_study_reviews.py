"""Lessons a law revision puts under review: exactly those whose module's current version
cites a changed, removed or renumbered article; confirming or publishing an edit settles
it; learners keep studying meanwhile. Made-up statutes (tests/statute_texts.py)."""

import io
import random

import pytest
from sqlalchemy import func, select

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank.drafts import LawRefDraft, format_law_refs
from tests.factories import make_module
from tests.question_bank.test_law_library import FIRST, LAW, SECOND, import_text, question
from tests.statute_texts import REVISED
from training.study import modules
from training.study.models import LessonReview, StudyModule


def _add_lesson(module: StudyModule, title: str, law_refs: str) -> None:
    modules.save_lesson(SYSTEM, module, modules.LessonData(title, "课程正文。", law_refs))
    modules.publish_module(SYSTEM, module, clock.now(), random.Random(1))
    db.session.commit()


def _reviews() -> dict[tuple[int, int], LessonReview]:
    db.session.expire_all()
    return {(r.module_id, r.lesson_key): r for r in db.session.scalars(select(LessonReview))}


def _actions(action: str) -> int:
    return db.session.scalar(select(func.count()).where(AuditEntry.action == action))


@pytest.fixture
def library(app):
    """The first version imported, a question for the modules' quizzes, and modules citing
    it in every way; then the revision (第2条 changed, 第3条 → 第4条, 第4条 removed)."""
    import_text()
    question("第1条")
    found = {
        "mixed": make_module(1, title="混合模块", law_refs=f"{LAW}（{FIRST}）第1条"),
        "unversioned": make_module(1, title="未注版本模块", law_refs=f"{LAW}第2条第2款"),
        "untouched": make_module(1, title="无关模块", law_refs=f"{LAW}（{FIRST}）第1条"),
        "removed": make_module(1, title="删除条文模块", law_refs=f"{LAW}（{FIRST}）第4条"),
        "retired": make_module(1, title="停用模块", law_refs=f"{LAW}（{FIRST}）第2条"),
    }
    _add_lesson(found["mixed"], "移位课", f"{LAW}（{FIRST}）第1条、第3条")
    modules.retire_module(SYSTEM, found["retired"])
    db.session.commit()
    found["result"] = import_text(REVISED)
    return found


def test_a_revision_flags_exactly_the_lessons_citing_changed_articles(library):
    mixed, unversioned, removed = library["mixed"], library["unversioned"], library["removed"]
    assert library["result"].flagged_elsewhere == 3
    reviews = _reviews()
    # Lesson 1 of 混合模块 cites only the unchanged 第1条; 无关模块 likewise; 停用模块 is retired.
    assert set(reviews) == {(mixed.id, 2), (unversioned.id, 1), (removed.id, 1)}
    assert [i["why"] for i in reviews[(mixed.id, 2)].items] == ["第3条移位→第4条"]
    assert [i["why"] for i in reviews[(unversioned.id, 1)].items] == ["第2条第2款修改"]
    assert [i["why"] for i in reviews[(removed.id, 1)].items] == ["第4条删除"]
    assert reviews[(mixed.id, 2)].module_number == 3
    assert _actions("study.lesson.review_flag") == 3
    # Nothing else changed: still published, same versions, lessons untouched.
    for module in (mixed, unversioned, removed, library["untouched"]):
        module = db.session.get(StudyModule, module.id)
        assert module.status == "published" and module.published_number == module.current_number
    assert db.session.get(StudyModule, mixed.id).current.lesson(2).law_refs == (
        f"{LAW}（{FIRST}）第1条、第3条"
    )


def test_confirming_moves_the_citation_to_the_new_version_and_number(library):
    mixed, unversioned = library["mixed"], library["unversioned"]
    reviews = _reviews()
    modules.confirm_lesson_review(SYSTEM, mixed, reviews[(mixed.id, 2)].id)
    modules.confirm_lesson_review(SYSTEM, unversioned, reviews[(unversioned.id, 1)].id)
    db.session.commit()
    assert set(_reviews()) == {(library["removed"].id, 1)}
    mixed = db.session.get(StudyModule, mixed.id)
    # A new version cites the new version (第3条 now 第4条); learners keep version 3 until
    # the trainer publishes it.
    assert (mixed.current_number, mixed.published_number) == (4, 3)
    assert mixed.current.lesson(2).law_refs == format_law_refs(
        [LawRefDraft(LAW, SECOND, 1), LawRefDraft(LAW, SECOND, 4)]
    )
    assert mixed.current.lesson(1).law_refs == f"{LAW}（{FIRST}）第1条"
    unversioned = db.session.get(StudyModule, unversioned.id)
    assert unversioned.current.lesson(1).law_refs == format_law_refs(
        [LawRefDraft(LAW, SECOND, 2, 0, 2)]
    )
    assert _actions("study.lesson.review_confirm") == 2


def test_a_removed_article_cannot_be_confirmed(library):
    removed = library["removed"]
    review = _reviews()[(removed.id, 1)]
    with pytest.raises(modules.StudyError, match="已没有"):
        modules.confirm_lesson_review(SYSTEM, removed, review.id)
    db.session.rollback()
    assert (removed.id, 1) in _reviews()
    assert db.session.get(StudyModule, removed.id).current_number == 2


def test_publishing_a_version_that_edits_the_lesson_clears_it(library):
    removed, mixed = library["removed"], library["mixed"]
    new_refs = f"{LAW}（{SECOND}）第3条"
    modules.save_lesson(SYSTEM, removed, modules.LessonData("第1课", "改写的正文。", new_refs), 1)
    db.session.commit()
    assert (removed.id, 1) in _reviews()  # a draft settles nothing: learners still read v1
    modules.publish_module(SYSTEM, removed, clock.now(), random.Random(1))
    # A new version that leaves the flagged lesson as it was settles nothing either.
    data = modules.module_data_of(mixed.current)
    data.title = "混合模块（新）"
    modules.save_module(SYSTEM, mixed, data)
    modules.publish_module(SYSTEM, mixed, clock.now(), random.Random(1))
    db.session.commit()
    assert set(_reviews()) == {(mixed.id, 2), (library["unversioned"].id, 1)}
    assert _actions("study.lesson.review_publish") == 1


def test_the_trainer_sees_what_to_review_and_confirms_it(library, client, login_as):
    mixed, removed = library["mixed"], library["removed"]
    review = _reviews()[(mixed.id, 2)]
    login_as(Role.TRAINER)
    assert "待复核" in client.get("/study/manage/").text
    page = client.get(f"/study/manage/modules/{mixed.id}").text
    assert "待复核" in page and "移位课" in page and "第3条移位→第4条" in page
    assert "学员可以继续学习第3版" in page
    old, new = review.previous_law_version_id, review.law_version_id
    assert f'href="/laws/{old}/articles/3"' in page
    assert f'href="/laws/{new}/articles/4"' in page
    assert f'href="/laws/{new}/changes"' in page
    assert "待复核" not in client.get(f"/study/manage/modules/{library['untouched'].id}").text
    done = client.post(
        f"/study/manage/modules/{mixed.id}/reviews/{review.id}/confirm", follow_redirects=True
    ).text
    assert "已确认：课程依据已改引新版本" in done and "第3条移位→第4条" not in done
    removed_review = _reviews()[(removed.id, 1)]
    refused = client.post(
        f"/study/manage/modules/{removed.id}/reviews/{removed_review.id}/confirm",
        follow_redirects=True,
    ).text
    assert "第4条在2011年修订中已没有，不能确认" in refused
    # Another module's review is not this module's to confirm.
    wrong = client.post(
        f"/study/manage/modules/{mixed.id}/reviews/{removed_review.id}/confirm",
        follow_redirects=True,
    ).text
    assert "该待复核提醒不存在或已处理" in wrong


def test_learners_keep_studying_a_module_under_review(library, client, login_as):
    mixed = library["mixed"]
    login_as(Role.LEARNER)
    page = client.get(f"/study/modules/{mixed.id}/lessons/2")
    assert page.status_code == 200 and "移位课" in page.text


def test_the_import_preview_and_the_cli_count_the_lessons(app, client, login_as, tmp_path):
    import_text()
    question("第1条")
    make_module(1, title="示范模块", law_refs=f"{LAW}（{FIRST}）第3条")
    login_as(Role.TRAINER)
    data = {"file": (io.BytesIO(REVISED.encode()), "示范管理法.txt")}
    preview = client.post("/laws/import", data=data, content_type="multipart/form-data").text
    assert "引用改动条文的 1 课学习课程将变为待复核" in preview
    assert _reviews() == {}  # the preview wrote nothing
    path = tmp_path / "示范管理法.txt"
    path.write_text(REVISED, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["laws", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "待复核学习课程 1" in result.output
    assert len(_reviews()) == 1
