"""Lessons a law revision puts under review (待复核), and how they leave it.

The law library (question_bank) calls `flag_lessons` as one of the app's revision
listeners; it does not know lessons. A lesson of a module's current version is flagged
when its 依据 cites an article of the law's previous version (or names no version, so
meant the one current when it was written) that the revision changed, removed or
renumbered. The module is left as it is: learners keep studying the published version.
Functions flush; the caller commits once.
"""

from dataclasses import replace

from sqlalchemy import select

from core.audit import Actor, record
from core.extensions import db
from question_bank.drafts import format_law_refs, parse_law_refs
from training.study.models import Lesson, LessonReview, ModuleVersion, Status, StudyModule


def flag_lessons(actor: Actor, revision) -> int:
    """Flag each lesson of a current module version citing an article the revision
    (`question_bank.statutes.library.LawRevision`) touched; how many were flagged."""
    flagged = 0
    modules = db.session.scalars(
        select(StudyModule)
        .where(StudyModule.status != Status.RETIRED.value)
        .order_by(StudyModule.id)
    )
    for module in modules:
        version = module.current
        for lesson in version.lessons:
            refs, _ = parse_law_refs(lesson.law_refs or "")
            items = [
                {
                    "article": ref.article,
                    "suffix": ref.suffix,
                    "why": why,
                    "old_key": revision.fate(ref).old_key,
                    "new_key": revision.fate(ref).new_key,
                }
                for ref in refs
                if revision.cites_old(ref, unversioned=True) and (why := revision.describe(ref))
            ]
            if not items:
                continue
            db.session.add(
                LessonReview(
                    module_id=module.id,
                    lesson_key=lesson.key,
                    module_number=version.number,
                    law_version_id=revision.new_version_id,
                    previous_law_version_id=revision.old_version_id,
                    law_name=revision.law_name,
                    old_label=revision.old_label,
                    new_label=revision.new_label,
                    items=items,
                )
            )
            record(
                actor,
                "study.lesson.review_flag",
                object_type="study_module",
                object_id=module.id,
                summary=f"{version.title} · {lesson.title}：《{revision.law_name}》"
                f"{revision.new_label}，{'、'.join(item['why'] for item in items)}"[:200],
                detail={"version": version.number, "lesson_key": lesson.key},
            )
            flagged += 1
    db.session.flush()
    return flagged


def open_reviews(module: StudyModule) -> list[LessonReview]:
    return list(
        db.session.scalars(
            select(LessonReview)
            .where(LessonReview.module_id == module.id)
            .order_by(LessonReview.lesson_key, LessonReview.id)
        )
    )


def modules_under_review() -> set[int]:
    return set(db.session.scalars(select(LessonReview.module_id).distinct()))


def confirmed_refs(review: LessonReview, lesson: Lesson) -> tuple[str, str | None]:
    """The lesson's 依据 with every reference to the law's previous version (or to no
    version) moved to the new version and to the article's new number; or a message when
    an article it cites is gone (the trainer edits the lesson instead)."""
    moved_to = {(item["article"], item["suffix"]): item for item in review.items}
    refs, problem = parse_law_refs(lesson.law_refs or "")
    if problem:
        return "", problem
    moved = []
    for ref in refs:
        if ref.law != review.law_name or ref.version not in (review.old_label, None):
            moved.append(ref)
            continue
        item = moved_to.get((ref.article, ref.suffix))
        if item is not None and item["new_key"] is None:
            gone = f"{ref.place}在{review.new_label}中已没有，不能确认"
            return "", f"{gone}：请修改课程依据后发布新版本。"
        if item is not None:
            number, _, suffix = item["new_key"].partition("-")
            ref = replace(ref, article=int(number), suffix=int(suffix or 0))
        moved.append(replace(ref, version=review.new_label))
    return format_law_refs(moved), None


def clear(actor: Actor, review: LessonReview, action: str, title: str, how: str) -> None:
    record(
        actor,
        action,
        object_type="study_module",
        object_id=review.module_id,
        summary=f"{title}：《{review.law_name}》{review.new_label}，{how}"[:200],
        detail={"lesson_key": review.lesson_key},
    )
    db.session.delete(review)
    db.session.flush()


def clear_edited(actor: Actor, module: StudyModule, published: ModuleVersion) -> None:
    """Publishing a version that edits (or drops) a flagged lesson settles its review:
    the trainer has revised it against the new text."""
    for review in open_reviews(module):
        if review.module_number >= published.number:
            continue
        flagged = module.version(review.module_number).lesson(review.lesson_key)
        now = published.lesson(review.lesson_key)
        if now is not None and (now.title, now.body, now.law_refs) == (
            flagged.title,
            flagged.body,
            flagged.law_refs,
        ):
            continue
        how = f"第{published.number}版{'已修改该课程' if now else '已移除该课程'}"
        title = f"{published.title} · {flagged.title}"
        clear(actor, review, "study.lesson.review_publish", title, how)
