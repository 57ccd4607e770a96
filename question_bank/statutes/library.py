"""The law library's rules: importing a statute text into a law version (all or nothing,
after a preview), the article diff against the version before, and what a revision does
to the questions citing it. Functions flush; the caller commits once."""

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from question_bank import drafts
from question_bank.bank import (
    CitationLookup,
    _new_version,
    current_draft,
    record_law_revision,
    search_key,
)
from question_bank.drafts import LawRefDraft
from question_bank.models import (
    ArticleChangeKind,
    Citation,
    Law,
    LawArticle,
    LawArticleChange,
    LawPart,
    LawVersion,
    Question,
    QuestionStatus,
    QuestionVersion,
    is_current_version,
)
from question_bank.statutes import diff
from question_bank.statutes.parse import DEPTH, MAIN, ParsedStatute, parse_statute

MAX_NAME = 100
MAX_LABEL = 50
_LABEL_IN_NAME = re.compile(r"[（(][^（）()]*[）)]$")


class LawImportError(ServiceError):
    code = "law_import"


@dataclass
class PartSummary:
    depth: int
    heading: str
    articles: int


@dataclass
class LawImportPlan:
    """What an import would do: the parse, where it goes, and every reason it cannot."""

    filename: str
    parsed: ParsedStatute
    law_name: str = ""
    label: str = ""
    law: Law | None = None
    #: the existing version that gets the text (a version registered without one)
    version: LawVersion | None = None
    #: the current version the new one replaces and is compared with
    previous: LawVersion | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.parsed.problems

    @property
    def is_revision(self) -> bool:
        return self.law is not None and self.version is None

    def tree(self) -> list[PartSummary]:
        """Each part with the number of articles under it (its own and its sub-parts')."""
        counts = Counter()
        for article in self.parsed.articles:
            index = article.part
            while index is not None:
                counts[index] += 1
                index = self.parsed.parts[index].parent
        return [
            PartSummary(DEPTH.get(part.kind, 0), part.heading, counts[index])
            for index, part in enumerate(self.parsed.parts)
        ]


@dataclass
class LawImportResult:
    version: LawVersion
    counts: Counter = field(default_factory=Counter)
    flagged: int = 0
    #: questions that moved to the new version by themselves (their articles unchanged)
    moved: list[int] = field(default_factory=list)
    #: the whole-law fallback of a revision whose previous version has no text
    flagged_without_diff: bool = False
    #: what the app's revision listeners flagged besides questions (study lessons)
    flagged_elsewhere: int = 0

    def summary_line(self) -> str:
        c = self.counts
        return (
            f"条文：未变 {c['unchanged']}，修改 {c['changed']}，新增 {c['added']}，"
            f"删除 {c['removed']}，移位 {c['renumbered']}；待复核试题 {self.flagged}"
        )


def clean_law_name(text: str) -> str:
    return text.strip().replace("《", "").replace("》", "").removeprefix("中华人民共和国")


def plan_law_import(
    data: bytes, filename: str, law_name: str | None = None, label: str | None = None
) -> LawImportPlan:
    """Parse a statute file and decide where it goes; writes nothing."""
    parsed = parse_statute(data, filename)
    plan = LawImportPlan(filename, parsed)
    stem = _LABEL_IN_NAME.sub("", PurePath(filename).stem)
    plan.law_name = clean_law_name(law_name or parsed.title or stem)
    if not plan.law_name or len(plan.law_name) > MAX_NAME:
        plan.errors.append("请填写法律简称（不超过100字），如：行政处罚法")
        return plan
    plan.law = db.session.scalar(
        select(Law).where(Law.name == plan.law_name).options(selectinload(Law.versions))
    )
    plan.label = (label or "").strip() or parsed.version_label or ""
    if not plan.label and plan.law is not None:
        # A law registered by name only: its current version is the one this text is of.
        current = plan.law.current_version
        if current is not None and not current.has_text:
            plan.label = current.label
    if not plan.label or len(plan.label) > MAX_LABEL:
        plan.errors.append("无法从题注判断版本，请填写版本（不超过50字），如：2021年修订、2020年")
        return plan
    if plan.law is None:
        return plan
    plan.version = next((v for v in plan.law.versions if v.label == plan.label), None)
    if plan.version is not None and plan.version.has_text:
        plan.errors.append(f"「{plan.version.citation}」的文本已经导入过，不能重复导入")
    elif plan.version is None:
        plan.previous = plan.law.current_version
    return plan


def commit_law_import(actor: Actor, plan: LawImportPlan) -> LawImportResult:
    """Write the plan: the text into its version and, for a new version, the diff against
    the one before and the review of the questions citing it. Raises LawImportError if
    the plan has errors (nothing written)."""
    if not plan.ok:
        raise LawImportError("文件有错误，未导入任何内容")
    parsed = plan.parsed
    effective_on = parsed.effective_on
    flagged_all = None
    if plan.law is None:
        law = Law(name=plan.law_name, full_name=parsed.title[:200])
        version = LawVersion(label=plan.label, effective_on=effective_on, is_current=True)
        law.versions.append(version)
        db.session.add(law)
    elif plan.version is not None:
        law, version = plan.law, plan.version
        version.effective_on = version.effective_on or effective_on
        if not law.full_name and parsed.title:
            law.full_name = parsed.title[:200]
    else:
        law = plan.law
        previous = plan.previous
        if previous is not None and previous.has_text:
            for other in law.versions:
                other.is_current = False
            version = LawVersion(label=plan.label, effective_on=effective_on, is_current=True)
            law.versions.append(version)
            version.previous_id = previous.id
        else:
            # Nothing to compare with: every question citing the law is reviewed.
            flagged_all = record_law_revision(actor, law, plan.label, effective_on)
            version = next(v for v in law.versions if v.label == plan.label)
    db.session.flush()
    _store_text(version, parsed, plan.filename)
    result = LawImportResult(version)
    if flagged_all is not None:
        result.flagged, result.flagged_without_diff = flagged_all, True
    elif version.previous_id is not None:
        _apply_revision(actor, version, result)
    record(
        actor,
        "law.import",
        object_type="law",
        object_id=law.id,
        summary=f"{law.name}（{version.label}）：导入 {len(parsed.main_articles)} 条"
        + (f"；{result.summary_line()}" if version.previous_id else ""),
        detail={
            "file": plan.filename,
            "version_label": version.label,
            "articles": len(parsed.main_articles),
            "amendment_articles": len(parsed.amendment_articles),
            "changes": dict(result.counts),
            "flagged": result.flagged,
            "moved_questions": result.moved,
        },
    )
    return result


def _store_text(version: LawVersion, parsed: ParsedStatute, filename: str) -> None:
    version.title = parsed.title[:200]
    version.caption = "\n".join(parsed.caption)
    version.preamble = "\n".join(parsed.preamble)
    version.source_name = filename[:255]
    version.imported_at = clock.now()
    parts = [
        LawPart(
            law_version_id=version.id,
            position=index,
            kind=part.kind,
            number=part.number,
            heading=part.heading[:200],
            note=part.note[:200],
            depth=DEPTH.get(part.kind, 0),
        )
        for index, part in enumerate(parsed.parts)
    ]
    db.session.add_all(parts)
    db.session.flush()
    for part, row in zip(parsed.parts, parts, strict=True):
        if part.parent is not None:
            row.parent_id = parts[part.parent].id
    db.session.add_all(
        LawArticle(
            law_version_id=version.id,
            part_id=parts[article.part].id if article.part is not None else None,
            position=index,
            series=article.series,
            number=article.number,
            suffix=article.suffix,
            heading=article.heading[:30],
            paragraphs=[{"text": p.text, "items": p.items} for p in article.paragraphs],
            text=article.text,
            search_text=search_key(article.text),
        )
        for index, article in enumerate(parsed.articles)
    )
    db.session.flush()


def main_articles(version_id: int) -> list[LawArticle]:
    return list(
        db.session.scalars(
            select(LawArticle)
            .where(LawArticle.law_version_id == version_id, LawArticle.series == MAIN)
            .order_by(LawArticle.position)
        )
    )


@dataclass(frozen=True)
class ArticleFate:
    """What a revision did to one article of the version before it."""

    kind: str
    #: 修改 / 删除 / 移位 / 原文中没有 (an article the old text lacks)
    label: str
    old_key: str | None = None
    new_number: int | None = None
    new_suffix: int = 0

    @property
    def new_key(self) -> str | None:
        if self.new_number is None:
            return None
        return f"{self.new_number}-{self.new_suffix}" if self.new_suffix else str(self.new_number)


MISSING = ArticleFate("missing", "原文中没有")


@dataclass
class LawRevision:
    """A new version's diff against the one before, as the revision listeners the app
    registers (`app.extensions["law_revision_listeners"]`) see it: the bank does not know
    what else cites a law (study lessons), so it hands each listener this and the actor."""

    law_name: str
    old_label: str
    new_label: str
    old_version_id: int
    new_version_id: int
    fates: dict[tuple[int, int], ArticleFate]

    def cites_old(self, ref: LawRefDraft, unversioned: bool = False) -> bool:
        """`ref` names the version before (or, when `unversioned`, no version: it was
        written against the version current then)."""
        wanted = (self.old_label, None) if unversioned else (self.old_label,)
        return ref.law == self.law_name and ref.version in wanted

    def fate(self, ref: LawRefDraft) -> ArticleFate:
        return self.fates.get((ref.article, ref.suffix), MISSING)

    def describe(self, ref: LawRefDraft) -> str | None:
        """Why a reference to the version before needs review, or None (article unchanged)."""
        fate = self.fate(ref)
        if fate.kind == diff.UNCHANGED:
            return None
        where = ""
        if fate.kind == diff.RENUMBERED:
            suffix = f"之{drafts.chinese_numeral(fate.new_suffix)}" if fate.new_suffix else ""
            where = f"→第{fate.new_number}条{suffix}"
        return f"{ref.place}{fate.label}{where}"


def _apply_revision(actor: Actor, version: LawVersion, result: LawImportResult) -> None:
    """Diff the new version against the previous one, store the diff, then: questions
    citing only unchanged articles move to the new version (a new question version each);
    those citing a changed, removed or renumbered article are flagged for review; then
    the app's revision listeners review what else cites the law."""
    old, new = main_articles(version.previous_id), main_articles(version.id)
    matches = diff.diff_articles(
        [((a.number, a.suffix), a.text) for a in old],
        [((a.number, a.suffix), a.text) for a in new],
    )
    changes = [
        LawArticleChange(
            new_version_id=version.id,
            old_version_id=version.previous_id,
            kind=match.kind,
            old_article_id=old[match.old].id if match.old is not None else None,
            new_article_id=new[match.new].id if match.new is not None else None,
            similarity=match.similarity,
        )
        for match in matches
    ]
    db.session.add_all(changes)
    db.session.flush()
    result.counts = Counter({kind.value: 0 for kind in ArticleChangeKind})
    result.counts.update(match.kind for match in matches)
    previous = db.session.get(LawVersion, version.previous_id)
    fates = {}
    for m in matches:
        if m.old is None:
            continue
        before = old[m.old]
        after = new[m.new] if m.new is not None else None
        fates[(before.number, before.suffix)] = ArticleFate(
            m.kind,
            ArticleChangeKind(m.kind).label,
            f"{before.number}-{before.suffix}" if before.suffix else str(before.number),
            after.number if after is not None else None,
            after.suffix if after is not None else 0,
        )
    revision = LawRevision(
        previous.law.name, previous.label, version.label, previous.id, version.id, fates
    )
    for question in _active_questions_citing(previous.id):
        draft = current_draft(question)
        affected = [
            why
            for ref in draft.law_refs
            if revision.cites_old(ref) and (why := revision.describe(ref))
        ]
        if affected:
            question.status = QuestionStatus.NEEDS_REVIEW.value
            note = f"《{previous.law.name}》{version.label}：{'、'.join(affected)}，请核对"
            question.review_note = note[:200]
            result.flagged += 1
            continue
        draft.law_refs = [
            replace(ref, version=version.label)
            if ref.law == previous.law.name and ref.version == previous.label
            else ref
            for ref in draft.law_refs
        ]
        lookup = CitationLookup()
        citations, error = lookup.resolve(draft.law_refs)
        if error:  # cannot happen for unchanged articles; review rather than guess
            question.status = QuestionStatus.NEEDS_REVIEW.value
            question.review_note = error[:200]
            result.flagged += 1
            continue
        _new_version(
            question,
            draft,
            citations,
            question.current_number + 1,
            actor,
            f"随《{previous.law.name}》{version.label}改引新版本（所引条文未变）",
            lookup,
        )
        result.moved.append(question.id)
    db.session.flush()
    for listener in current_app.extensions.get("law_revision_listeners", []):
        result.flagged_elsewhere += listener(actor, revision)
    db.session.flush()


def _active_questions_citing(law_version_id: int) -> list[Question]:
    cites = (
        select(Question.id)
        .join(QuestionVersion, is_current_version())
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(Citation.law_version_id == law_version_id)
    )
    return list(
        db.session.scalars(
            select(Question)
            .where(Question.id.in_(cites), Question.status == QuestionStatus.ACTIVE.value)
            .order_by(Question.id)
        )
    )


# --- reading ----------------------------------------------------------------------


def find_article(version: LawVersion, ref: LawRefDraft) -> LawArticle | None:
    return db.session.scalar(
        select(LawArticle).where(
            LawArticle.law_version_id == version.id,
            LawArticle.series == MAIN,
            LawArticle.number == ref.article,
            LawArticle.suffix == ref.suffix,
        )
    )


def change_for(old_article_id: int, new_version_id: int) -> LawArticleChange | None:
    return db.session.scalar(
        select(LawArticleChange).where(
            LawArticleChange.old_article_id == old_article_id,
            LawArticleChange.new_version_id == new_version_id,
        )
    )


@dataclass
class BrokenCitation:
    question_id: int
    place: str
    message: str


def broken_citations(version: LawVersion) -> list[BrokenCitation]:
    """Questions in use whose current version cites an article, paragraph or item this
    version's text does not have: listed so that the bank's old citations get fixed."""
    if not version.has_text:
        return []
    rows = db.session.execute(
        select(Question.id, Citation)
        .join(QuestionVersion, is_current_version())
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(
            Citation.law_version_id == version.id,
            Question.status != QuestionStatus.RETIRED.value,
        )
        .order_by(Question.id, Citation.id)
    ).all()
    lookup = CitationLookup()
    broken = []
    for question_id, citation in rows:
        ref = LawRefDraft(
            version.law.name,
            version.label,
            citation.article,
            citation.article_suffix,
            citation.paragraph,
            citation.item,
        )
        if message := lookup.place_error(version, ref):
            broken.append(BrokenCitation(question_id, ref.place, message))
    return broken


@dataclass
class Impact:
    """What committing a plan would do to the bank, found by doing it and rolling back."""

    counts: Counter
    flagged: int
    moved: int
    flagged_without_diff: bool
    #: lessons the app's revision listeners would flag
    flagged_elsewhere: int = 0

    def summary_line(self) -> str:
        return LawImportResult.summary_line(self)  # type: ignore[arg-type]


def preview_impact(actor: Actor, plan: LawImportPlan) -> Impact | None:
    """For a new version of a law already in the library: the diff counts and how many
    questions would be flagged or moved. None for a first text (nothing to compare)."""
    if not plan.ok or not plan.is_revision:
        return None
    with db.session.begin_nested() as savepoint:
        result = commit_law_import(actor, plan)
        impact = Impact(
            Counter(result.counts),
            result.flagged,
            len(result.moved),
            result.flagged_without_diff,
            result.flagged_elsewhere,
        )
        savepoint.rollback()
    # The plan's objects were expired by the rollback; load them again for the caller.
    db.session.expire_all()
    return impact


@dataclass
class ReviewItem:
    """One reference of a question flagged by a revision, with what became of its article."""

    ref: LawRefDraft
    kind_label: str
    old: LawArticle | None
    new: LawArticle | None
    new_version: LawVersion
    runs: list | None


def review_items(question: Question) -> list[ReviewItem]:
    """For the trainer reviewing `question`: each reference to a version the current one
    was compared with, with the article's change and the changed words marked."""
    items = []
    for ref in current_draft(question).law_refs:
        law = db.session.scalar(select(Law).where(Law.name == ref.law))
        current = law.current_version if law else None
        if current is None or ref.version == current.label or current.previous_id is None:
            continue
        old_version = db.session.get(LawVersion, current.previous_id)
        if old_version.label != ref.version:
            continue
        old = find_article(old_version, ref)
        change = change_for(old.id, current.id) if old is not None else None
        if change is None:
            items.append(ReviewItem(ref, "原版本中没有该条", None, None, current, None))
            continue
        new = change.new_article
        runs = diff.marked(old.text, new.text) if new is not None else None
        items.append(ReviewItem(ref, change.kind_label, old, new, current, runs))
    return items
