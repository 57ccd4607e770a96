"""Rules of the question bank: adding, editing (always a new version), retiring,
reviewing after a law revision, tagging. Functions flush; the caller commits once."""

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import select, update

from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from question_bank.drafts import (
    FIELD_LABELS,
    LawRefDraft,
    QuestionDraft,
    chinese_numeral,
    clean_draft,
    fingerprint,
    format_law_refs,
    validate_draft,
)
from question_bank.models import (
    Citation,
    Law,
    LawArticle,
    LawArticleChange,
    LawVersion,
    Question,
    QuestionStatus,
    QuestionVersion,
    Topic,
    is_current_version,
)

UNVERSIONED = "现行"


class BankError(ServiceError):
    """A rule of the bank was broken; `fields` maps field names to Chinese messages."""

    code = "bank_rule"

    def __init__(self, fields: dict[str, str]):
        super().__init__("；".join(fields.values()), fields=fields)


# --- laws --------------------------------------------------------------------------


@dataclass
class CitationLookup:
    """Resolves LawRefDrafts against the registry, optionally registering what is missing.

    One lookup serves a whole import: it remembers the laws and topics it has loaded, so
    a large file costs a query per distinct law and topic, not per row.
    """

    register_missing: bool = False
    registered: list[str] = field(default_factory=list)
    laws: dict[str, Law | None] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)

    def law(self, name: str) -> Law | None:
        if name not in self.laws:
            with db.session.no_autoflush:
                self.laws[name] = db.session.scalar(select(Law).where(Law.name == name))
        return self.laws[name]

    def topic_list(self, names: list[str]) -> list[Topic]:
        missing = [name for name in names if name not in self.topics]
        if missing:
            with db.session.no_autoflush:
                found = db.session.scalars(select(Topic).where(Topic.name.in_(missing)))
                self.topics.update((topic.name, topic) for topic in found)
        for name in names:
            if name not in self.topics:
                self.topics[name] = Topic(name=name)
                db.session.add(self.topics[name])
        return [self.topics[name] for name in names]

    #: (law version id, article, suffix) -> the article's paragraphs, None if it has none
    articles: dict[tuple[int, int, int], list | None] = field(default_factory=dict)

    def resolve(
        self, refs: list[LawRefDraft]
    ) -> tuple[list[tuple[LawVersion, LawRefDraft]], str | None]:
        resolved = []
        for ref in refs:
            version, error = self._version(ref)
            if not error and version.has_text:
                error = self.place_error(version, ref)
            if error:
                return [], error
            resolved.append((version, ref))
        return resolved, None

    def place_error(self, version: LawVersion, ref: LawRefDraft) -> str | None:
        """Why `ref` names no text of `version` (whose text is imported), or None."""
        key = (version.id, ref.article, ref.suffix)
        if key not in self.articles:
            with db.session.no_autoflush:
                self.articles[key] = db.session.scalar(
                    select(LawArticle.paragraphs).where(
                        LawArticle.law_version_id == version.id,
                        LawArticle.series == "",
                        LawArticle.number == ref.article,
                        LawArticle.suffix == ref.suffix,
                    )
                )
        paragraphs = self.articles[key]
        article = replace(ref, paragraph=None, item=None).place
        where = f"「{version.citation}」"
        if paragraphs is None:
            return f"{where}没有{article}，请核对条号"
        if ref.paragraph and ref.paragraph > len(paragraphs):
            return f"{where}{article}只有{len(paragraphs)}款，没有第{ref.paragraph}款"
        if ref.item:
            with_items = (
                [paragraphs[ref.paragraph - 1]]
                if ref.paragraph
                else [p for p in paragraphs if p["items"]][:1]
            )
            count = len(with_items[0]["items"]) if with_items else 0
            if ref.item > count:
                whole = replace(ref, item=None).place
                has = f"只有{count}项" if count else "没有分项"
                return f"{where}{whole}{has}，没有第（{chinese_numeral(ref.item)}）项"
        return None

    def _version(self, ref: LawRefDraft) -> tuple[LawVersion | None, str | None]:
        law = self.law(ref.law)
        if law is None:
            if not self.register_missing:
                return None, f"法律库中没有「{ref.law}」，请先登记该法律"
            law = self.laws[ref.law] = register_law(ref.law, ref.version or UNVERSIONED)
            self.registered.append(f"{ref.law}（{ref.version or UNVERSIONED}）")
            return law.versions[0], None
        if ref.version is None:
            return law.current_version, None
        version = next((v for v in law.versions if v.label == ref.version), None)
        if version is None:
            if not self.register_missing:
                known = "、".join(v.label for v in law.versions)
                return None, f"「{ref.law}」没有登记版本「{ref.version}」（已登记：{known}）"
            version = LawVersion(label=ref.version, is_current=False)
            law.versions.append(version)
            db.session.flush()
            self.registered.append(f"{ref.law}（{ref.version}，非现行版本）")
        return version, None


def register_law(name: str, label: str, full_name: str = "", effective_on=None) -> Law:
    law = Law(name=name.strip(), full_name=full_name.strip())
    law.versions.append(LawVersion(label=label.strip(), effective_on=effective_on, is_current=True))
    db.session.add(law)
    db.session.flush()
    return law


def add_law(actor: Actor, name: str, label: str, full_name: str = "", effective_on=None) -> Law:
    name = name.strip().replace("《", "").replace("》", "").removeprefix("中华人民共和国")
    if not name or not label.strip():
        raise BankError({"name": "法律名称和版本都不能为空"})
    if len(name) > 100 or len(label.strip()) > 50 or len(full_name.strip()) > 200:
        raise BankError({"name": "法律名称不超过100字，版本不超过50字，全称不超过200字"})
    if db.session.scalar(select(Law).where(Law.name == name.strip())) is not None:
        raise BankError({"name": f"法律库中已有「{name.strip()}」"})
    law = register_law(name, label, full_name, effective_on)
    record(
        actor,
        "law.create",
        object_type="law",
        object_id=law.id,
        summary=f"{law.name}（{label.strip()}）",
    )
    return law


def record_law_revision(actor: Actor, law: Law, label: str, effective_on: date | None) -> int:
    """Make `label` the current version of `law`; every active question citing an older
    version becomes 待复核 and stays out of exams until reviewed. Returns how many."""
    label = label.strip()
    if not label or len(label) > 50:
        raise BankError({"label": "请填写新版本（不超过50字），如「2021年修订」"})
    if any(version.label == label for version in law.versions):
        raise BankError({"label": f"「{law.name}」已有版本「{label}」"})
    for version in law.versions:
        version.is_current = False
    new_version = LawVersion(label=label, effective_on=effective_on, is_current=True)
    law.versions.append(new_version)
    db.session.flush()
    citing = (
        select(Question.id)
        .join(QuestionVersion, is_current_version())
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .join(LawVersion, LawVersion.id == Citation.law_version_id)
        .where(LawVersion.law_id == law.id, LawVersion.id != new_version.id)
        .where(Question.status == QuestionStatus.ACTIVE.value)
    )
    flagged = db.session.execute(
        update(Question)
        .where(Question.id.in_(citing))
        .values(
            status=QuestionStatus.NEEDS_REVIEW.value,
            review_note=f"《{law.name}》已修订（{label}），请核对后确认或修改",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    record(
        actor,
        "law.revise",
        object_type="law",
        object_id=law.id,
        summary=f"{law.name} → {label}，{flagged} 道试题待复核",
    )
    return flagged


# --- questions ---------------------------------------------------------------------


def draft_of(version: QuestionVersion) -> QuestionDraft:
    return QuestionDraft(
        type=version.type,
        stem=version.stem,
        choices=list(version.choices),
        answer=list(version.answer),
        blanks=[list(blank) for blank in version.blanks],
        explanation=version.explanation,
        difficulty=version.difficulty,
        model_answer=version.model_answer,
        marking_points=[list(point) for point in version.marking_points],
        max_chars=version.max_chars,
        law_refs=[
            LawRefDraft(
                c.law_version.law.name,
                c.law_version.label,
                c.article,
                c.article_suffix,
                c.paragraph,
                c.item,
            )
            for c in version.citations
        ],
        topics=list(version.topic_names),
    )


def current_draft(question: Question) -> QuestionDraft:
    """The current version's content with the question's live topics: bulk tagging adds
    topics without making a version, and an edit or review must not drop them."""
    draft = draft_of(question.current_version)
    live = [topic.name for topic in question.topics]
    draft.topics = [name for name in draft.topics if name in live] + [
        name for name in live if name not in draft.topics
    ]
    return draft


def search_key(text: str) -> str:
    """The normalised form that search text and queries share (width, case, spaces)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _search_text(draft: QuestionDraft) -> str:
    parts = [
        draft.stem,
        *draft.choices,
        *(a for blank in draft.blanks for a in blank),
        draft.explanation,
        draft.model_answer,
        *(text for text, _ in draft.marking_points),
        format_law_refs(draft.law_refs),
        *draft.topics,
    ]
    return search_key("\n".join(parts))


def _checked(draft: QuestionDraft, lookup: CitationLookup):
    draft = clean_draft(draft)
    errors = validate_draft(draft)
    citations, citation_error = lookup.resolve(draft.law_refs)
    if citation_error:
        errors["law_refs"] = citation_error
    if errors:
        raise BankError(errors)
    return draft, citations


def _status_for(citations: list[tuple[LawVersion, LawRefDraft]]) -> QuestionStatus:
    outdated = any(not version.is_current for version, _ in citations)
    return QuestionStatus.NEEDS_REVIEW if outdated else QuestionStatus.ACTIVE


def _new_version(
    question: Question,
    draft: QuestionDraft,
    citations,
    number: int,
    actor: Actor,
    note: str,
    lookup: CitationLookup,
) -> QuestionVersion:
    version = QuestionVersion(
        number=number,
        type=draft.type,
        stem=draft.stem,
        choices=draft.choices,
        answer=draft.answer,
        blanks=draft.blanks,
        explanation=draft.explanation,
        difficulty=draft.difficulty,
        model_answer=draft.model_answer,
        marking_points=draft.marking_points,
        max_chars=draft.max_chars,
        topic_names=draft.topics,
        change_note=note,
        created_by=actor.id,
        citations=[
            Citation(
                law_version=version,
                article=ref.article,
                article_suffix=ref.suffix,
                paragraph=ref.paragraph,
                item=ref.item,
            )
            for version, ref in citations
        ],
    )
    question.versions.append(version)
    question.current_number = number
    question.type = draft.type
    question.difficulty = draft.difficulty
    question.has_citation = bool(citations)
    question.law_id = citations[0][0].law_id if citations else None
    question.search_text = _search_text(draft)
    question.fingerprint = fingerprint(draft)
    question.topics = lookup.topic_list(draft.topics)
    return version


def check_question(draft: QuestionDraft) -> QuestionDraft:
    """The stored form of `draft` if it could be saved (for the preview); writes nothing."""
    return _checked(draft, CitationLookup())[0]


def add_question(
    actor: Actor, draft: QuestionDraft, *, lookup: CitationLookup | None = None, audit: bool = True
) -> Question:
    """Add a question (version 1). An import passes its shared `lookup` and audit=False,
    records one entry for the file and flushes once, so rows insert in batches."""
    lookup = lookup or CitationLookup()
    draft, citations = _checked(draft, lookup)
    status = _status_for(citations)
    question = Question(status=status.value, created_by=actor.id)
    if status is QuestionStatus.NEEDS_REVIEW:
        question.review_note = "引用的法律版本不是现行版本"
    _new_version(question, draft, citations, 1, actor, "新建", lookup)
    db.session.add(question)
    if audit:
        db.session.flush()
        record(
            actor,
            "question.create",
            object_type="question",
            object_id=question.id,
            summary=draft.stem[:80],
        )
    return question


def edit_question(
    actor: Actor, question: Question, draft: QuestionDraft, note: str = ""
) -> QuestionVersion | None:
    """Save `draft` as a new version; None when nothing changed."""
    lookup = CitationLookup()
    draft, citations = _checked(draft, lookup)
    before = current_draft(question)
    changed = changed_fields(before, draft)
    if not changed:
        return None
    version = _new_version(
        question,
        draft,
        citations,
        question.current_number + 1,
        actor,
        note.strip() or "修改",
        lookup,
    )
    if question.status != QuestionStatus.RETIRED.value:
        question.status = _status_for(citations).value
        question.review_note = (
            "" if question.status == QuestionStatus.ACTIVE.value else ("引用的法律版本不是现行版本")
        )
    db.session.flush()
    record(
        actor,
        "question.edit",
        object_type="question",
        object_id=question.id,
        summary=f"第 {version.number} 版：{'、'.join(changed)}",
        detail={"version": version.number, "changed": changed},
    )
    return version


def changed_fields(before: QuestionDraft, after: QuestionDraft) -> list[str]:
    """Names (as users see them) of the fields that differ between two drafts."""
    names = []
    for name in (
        "type",
        "stem",
        "choices",
        "answer",
        "blanks",
        "explanation",
        "difficulty",
        "law_refs",
        "topics",
        "model_answer",
        "marking_points",
        "max_chars",
    ):
        if getattr(before, name) != getattr(after, name):
            label = FIELD_LABELS[name]
            if label not in names:
                names.append(label)
    return names


def retire(actor: Actor, question: Question) -> None:
    if question.status == QuestionStatus.RETIRED.value:
        raise BankError({"status": "该题已停用"})
    question.status = QuestionStatus.RETIRED.value
    record(actor, "question.retire", object_type="question", object_id=question.id)


def restore(actor: Actor, question: Question) -> None:
    if question.status != QuestionStatus.RETIRED.value:
        raise BankError({"status": "该题未停用"})
    citations = [(c.law_version, c) for c in question.current_version.citations]
    status = _status_for(citations)
    question.status = status.value
    # Retired questions are not flagged by a law revision; say why on the way back.
    question.review_note = (
        ""
        if status is QuestionStatus.ACTIVE
        else question.review_note or "引用的法律版本不是现行版本"
    )
    record(actor, "question.restore", object_type="question", object_id=question.id)


def confirm_review(actor: Actor, question: Question) -> QuestionVersion:
    """The trainer checked the question against the revised law: cite the current versions."""
    if question.status != QuestionStatus.NEEDS_REVIEW.value:
        raise BankError({"status": "该题不需要复核"})
    draft = current_draft(question)
    draft.law_refs = [_follow_revision(ref) for ref in draft.law_refs]
    lookup = CitationLookup()
    draft, citations = _checked(draft, lookup)
    version = _new_version(
        question,
        draft,
        citations,
        question.current_number + 1,
        actor,
        "复核确认：引用现行版本",
        lookup,
    )
    question.status = QuestionStatus.ACTIVE.value
    question.review_note = ""
    db.session.flush()
    record(
        actor,
        "question.confirm",
        object_type="question",
        object_id=question.id,
        summary=f"第 {version.number} 版：{format_law_refs(draft.law_refs)}",
    )
    return version


def _follow_revision(ref: LawRefDraft) -> LawRefDraft:
    """`ref` moved to the current version of its law: to the article its text went to
    when the import's article diff knows it (renumbered), else to the same number."""
    law = db.session.scalar(select(Law).where(Law.name == ref.law))
    current = law.current_version
    if ref.version == current.label:
        return ref
    moved = replace(ref, version=current.label)
    old = next((v for v in law.versions if v.label == ref.version), None)
    if old is None or current.previous_id != old.id:
        return moved
    change = db.session.scalar(
        select(LawArticleChange)
        .join(LawArticle, LawArticle.id == LawArticleChange.old_article_id)
        .where(
            LawArticleChange.new_version_id == current.id,
            LawArticle.law_version_id == old.id,
            LawArticle.series == "",
            LawArticle.number == ref.article,
            LawArticle.suffix == ref.suffix,
        )
    )
    if change is None:
        return moved
    if change.new_article is None:
        raise BankError(
            {"law_refs": f"{ref.place}在「{current.citation}」中已删除，请修改本题的法律依据"}
        )
    return replace(moved, article=change.new_article.number, suffix=change.new_article.suffix)


def bulk_tag(actor: Actor, questions: list[Question], topic_name: str) -> int:
    """Add a topic to many questions at once; returns how many gained it."""
    name = topic_name.strip()
    if not name or len(name) > 50:
        raise BankError({"topic": "知识点应为 1–50 个字"})
    if not questions:
        raise BankError({"questions": "请先勾选试题"})
    topic = CitationLookup().topic_list([name])[0]
    added = 0
    for question in questions:
        if topic not in question.topics:
            question.topics.append(topic)
            question.search_text = _search_text(current_draft(question))
            added += 1
    db.session.flush()
    record(
        actor,
        "question.tag",
        object_type="question",
        summary=f"为 {added} 道试题添加知识点「{name}」",
        detail={"questions": [q.id for q in questions]},
    )
    return added
