"""The law library's screens: the list of laws, a reader with its table of contents and
search, article pages (with the questions citing them, for trainers), the diff of a
revision, and the trainers' import of a statute text with its preview."""

from dataclasses import replace

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core import uploads
from core.errors import show_error
from core.extensions import db
from core.roles import Role, role_required
from core.web import current_actor
from question_bank.bank import search_key
from question_bank.drafts import LawRefDraft, chinese_number, format_law_refs, group_law_refs
from question_bank.forms import ConfirmLawImportForm, LawTextImportForm
from question_bank.law_links import cite_url, link_mentions
from question_bank.models import (
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
from question_bank.statutes.library import (
    LawImportError,
    broken_citations,
    commit_law_import,
    plan_law_import,
    preview_impact,
)
from question_bank.statutes.parse import MAIN

bp = Blueprint("laws", __name__, url_prefix="/laws")
trainer_required = role_required(Role.TRAINER)

UPLOAD_KIND = "law_text"
#: a law this short is shown whole; a longer one part by part
WHOLE_LAW_ARTICLES = 200
SEARCH_RESULTS = 100
PREVIEW_PROBLEMS = 300


def article_key(article) -> str:
    """The article's part of its URL: 36, or 10-1 for 第10条之一."""
    return f"{article.number}-{article.suffix}" if article.suffix else str(article.number)


def _parse_key(key: str) -> tuple[int, int]:
    number, _, suffix = key.partition("-")
    if not number.isdecimal() or (suffix and not suffix.isdecimal()):
        abort(404)
    return int(number), int(suffix or 0)


def is_trainer() -> bool:
    return current_user.is_authenticated and current_user.has_any_role(Role.TRAINER)


@bp.context_processor
def law_helpers() -> dict:
    return {"is_trainer": is_trainer}


@bp.app_context_processor
def citation_links() -> dict:
    """For every page that shows a question's law references or an article link (the
    bank's question pages show a revision's diff)."""
    return {
        "article_key": article_key,
        "cite_url": cite_url,
        "group_law_refs": group_law_refs,
        "link_mentions": link_mentions,
    }


def _version_or_404(version_id: int) -> LawVersion:
    version = db.get_or_404(LawVersion, version_id)
    if not version.has_text:
        abort(404)
    return version


def _article_counts() -> dict[int, int]:
    stmt = (
        select(LawArticle.law_version_id, func.count())
        .where(LawArticle.series == MAIN)
        .group_by(LawArticle.law_version_id)
    )
    return dict(db.session.execute(stmt).all())


# --- the library ---------------------------------------------------------------------


@bp.route("/")
@login_required
def library():
    laws = db.session.scalars(select(Law).order_by(Law.name)).all()
    return render_template("laws/library.html", laws=laws, counts=_article_counts())


@bp.route("/<int:version_id>")
@login_required
def reader(version_id: int):
    version = _version_or_404(version_id)
    parts = db.session.scalars(
        select(LawPart).where(LawPart.law_version_id == version.id).order_by(LawPart.position)
    ).all()
    articles = select(LawArticle).where(LawArticle.law_version_id == version.id)
    count = db.session.scalar(select(func.count()).select_from(articles.subquery()))
    part = None
    if part_id := request.args.get("part", type=int):
        part = next((p for p in parts if p.id == part_id), None)
        if part is None:
            abort(404)
        inside = _part_and_below(parts, part)
        articles = articles.where(LawArticle.part_id.in_(inside))
    elif count > WHOLE_LAW_ARTICLES and parts:
        articles = None  # the table of contents alone: the reader picks a part
    shown = (
        db.session.scalars(articles.order_by(LawArticle.position)).all()
        if articles is not None
        else []
    )
    return render_template(
        "laws/reader.html",
        version=version,
        toc=_toc(version, parts),
        part=part,
        articles=shown,
        count=count,
        headings={p.id: p.heading for p in parts},
    )


def _part_and_below(parts: list[LawPart], top: LawPart) -> set[int]:
    inside = {top.id}
    for part in parts:  # in order, so a parent comes before its children
        if part.parent_id in inside:
            inside.add(part.id)
    return inside


def _toc(version: LawVersion, parts: list[LawPart]) -> list[dict]:
    """Each part with the first and last article under it, for the table of contents."""
    spans = db.session.execute(
        select(
            LawArticle.part_id,
            func.min(LawArticle.position),
            func.max(LawArticle.position),
            func.count(),
        )
        .where(LawArticle.law_version_id == version.id)
        .group_by(LawArticle.part_id)
    ).all()
    own = {part_id: (low, high, n) for part_id, low, high, n in spans}
    headings = dict(
        db.session.execute(
            select(LawArticle.position, LawArticle.heading).where(
                LawArticle.law_version_id == version.id
            )
        ).all()
    )
    rows = []
    for part in parts:
        inside = _part_and_below(parts, part)
        spans_in = [own[i] for i in inside if i in own]
        first = min((s[0] for s in spans_in), default=None)
        last = max((s[1] for s in spans_in), default=None)
        rows.append(
            {
                "part": part,
                "count": sum(s[2] for s in spans_in),
                "first": headings.get(first, ""),
                "last": headings.get(last, ""),
            }
        )
    return rows


# --- one article ---------------------------------------------------------------------


def _article_or_404(version: LawVersion, key: str, series: str = MAIN) -> LawArticle:
    number, suffix = _parse_key(key)
    article = db.session.scalar(
        select(LawArticle).where(
            LawArticle.law_version_id == version.id,
            LawArticle.series == series,
            LawArticle.number == number,
            LawArticle.suffix == suffix,
        )
    )
    if article is None:
        abort(404)
    return article


def _neighbours(article: LawArticle) -> tuple[LawArticle | None, LawArticle | None]:
    around = db.session.scalars(
        select(LawArticle).where(
            LawArticle.law_version_id == article.law_version_id,
            LawArticle.series == article.series,
            LawArticle.position.in_([article.position - 1, article.position + 1]),
        )
    ).all()
    before = next((a for a in around if a.position < article.position), None)
    after = next((a for a in around if a.position > article.position), None)
    return before, after


def _part_path(article: LawArticle) -> list[LawPart]:
    path, part = [], article.part
    while part is not None:
        path.insert(0, part)
        part = db.session.get(LawPart, part.parent_id) if part.parent_id else None
    return path


def citing_questions(article: LawArticle) -> list[tuple[Question, list[str]]]:
    """Questions not retired whose current version cites `article`, with the places
    (第1款, 第（二）项) each cites."""
    rows = db.session.execute(
        select(Question, Citation)
        .join(QuestionVersion, is_current_version())
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(
            Citation.law_version_id == article.law_version_id,
            Citation.article == article.number,
            Citation.article_suffix == article.suffix,
            Question.status != QuestionStatus.RETIRED.value,
        )
        .order_by(Question.id, Citation.id)
    ).all()
    found: dict[int, tuple[Question, list[str]]] = {}
    for question, citation in rows:
        whole = LawRefDraft("", None, citation.article, citation.article_suffix)
        full = replace(whole, paragraph=citation.paragraph, item=citation.item)
        found.setdefault(question.id, (question, []))[1].append(
            full.place.removeprefix(whole.place) or "全条"
        )
    return list(found.values())


def _change_against_previous(version: LawVersion, article: LawArticle):
    if version.previous_id is None:
        return None
    change = db.session.scalar(
        select(LawArticleChange).where(
            LawArticleChange.new_version_id == version.id,
            LawArticleChange.new_article_id == article.id,
        )
    )
    if change is None:
        return None
    if change.old_article is None:
        return change, None
    return change, diff.marked(change.old_article.text, article.text)


def citing_lessons(
    version: LawVersion, articles: list[LawArticle], unversioned: bool
) -> dict[int, list[tuple[str, str | None]]]:
    """Article id -> the lessons (title, link) citing it: what the app registered as other
    sources of citations. A reference naming no version counts when `unversioned` (it
    meant the version current when it was written)."""
    wanted = {(a.number, a.suffix): a.id for a in articles if not a.is_amendment}
    found: dict[int, list[tuple[str, str | None]]] = {}
    for source in current_app.extensions.get("law_citing_sources", []):
        for title, url, refs in source():
            hits = {
                wanted[(ref.article, ref.suffix)]
                for ref in refs
                if ref.law == version.law.name
                and (ref.version == version.label or (ref.version is None and unversioned))
                and (ref.article, ref.suffix) in wanted
            }
            for article_id in hits:
                found.setdefault(article_id, []).append((title, url))
    return found


@bp.route("/<int:version_id>/articles/<key>")
@login_required
def article(version_id: int, key: str):
    version = _version_or_404(version_id)
    article = _article_or_404(version, key)
    return _article_page(version, article)


@bp.route("/<int:version_id>/amendments/<key>")
@login_required
def amendment(version_id: int, key: str):
    version = _version_or_404(version_id)
    return _article_page(version, _article_or_404(version, key, series="修正案"))


def _article_page(version: LawVersion, article: LawArticle):
    before, after = _neighbours(article)
    trainer = is_trainer()
    change = _change_against_previous(version, article) if not article.is_amendment else None
    ref = LawRefDraft(version.law.name, version.label, article.number, article.suffix)
    return render_template(
        "laws/article.html",
        version=version,
        article=article,
        before=before,
        after=after,
        path=_part_path(article),
        citing=citing_questions(article) if trainer and not article.is_amendment else None,
        lessons=citing_lessons(version, [article], version.is_current).get(article.id, [])
        if not article.is_amendment
        else [],
        change=change,
        cite_text=format_law_refs([ref]),
        ref=ref,
    )


@bp.route("/cite")
@login_required
def cite():
    """Where a citation (law, version, article, 款, 项) points: its article page."""
    args = request.args
    law = db.session.scalar(select(Law).where(Law.name == args.get("law", "")))
    if law is None:
        abort(404)
    label = args.get("version") or None
    version = (
        law.current_version
        if label is None
        else next((v for v in law.versions if v.label == label), None)
    )
    if version is None:
        abort(404)
    if not version.has_text:
        flash(f"「{version.citation}」的文本尚未导入法律库。", "info")
        return redirect(url_for("laws.library"))
    number = args.get("article", type=int) or 0
    suffix = args.get("suffix", type=int) or 0
    anchor = "article"
    if paragraph := args.get("paragraph", type=int):
        anchor = f"p{paragraph}"
        if item := args.get("item", type=int):
            anchor += f"-i{item}"
    key = f"{number}-{suffix}" if suffix else str(number)
    _article_or_404(version, key)
    return redirect(url_for("laws.article", version_id=version.id, key=key, _anchor=anchor))


# --- search --------------------------------------------------------------------------


@bp.route("/<int:version_id>/search")
@login_required
def search(version_id: int):
    version = _version_or_404(version_id)
    query = (request.args.get("q") or "").strip()[:100]
    if number := _article_number(query):
        found = db.session.scalar(
            select(LawArticle).where(
                LawArticle.law_version_id == version.id,
                LawArticle.series == MAIN,
                LawArticle.number == number[0],
                LawArticle.suffix == number[1],
            )
        )
        if found is not None:
            return redirect(url_for("laws.article", version_id=version.id, key=article_key(found)))
    results = []
    terms = search_key(query).split()
    if terms:
        stmt = select(LawArticle).where(LawArticle.law_version_id == version.id)
        for term in terms:
            stmt = stmt.where(LawArticle.search_text.contains(term, autoescape=True))
        results = db.session.scalars(
            stmt.order_by(LawArticle.position).limit(SEARCH_RESULTS + 1)
        ).all()
    return render_template(
        "laws/search.html",
        version=version,
        query=query,
        terms=terms,
        results=results[:SEARCH_RESULTS],
        more=len(results) > SEARCH_RESULTS,
    )


def _article_number(query: str) -> tuple[int, int] | None:
    """36, 第36条, 第三十六条, 第十条之一 -> (number, suffix); None for other queries."""
    text = query.replace(" ", "").removeprefix("第").removesuffix("条")
    number, _, suffix = text.partition("条之")
    value = chinese_number(number) if number else None
    if not value:
        return None
    suffix_value = chinese_number(suffix) if suffix else 0
    return (value, suffix_value) if suffix_value is not None else None


# --- a revision's diff ---------------------------------------------------------------


@bp.route("/<int:version_id>/changes")
@login_required
def changes(version_id: int):
    version = _version_or_404(version_id)
    if version.previous_id is None:
        abort(404)
    rows = db.session.scalars(
        select(LawArticleChange)
        .where(LawArticleChange.new_version_id == version.id)
        .order_by(LawArticleChange.id)
    ).all()
    kind = request.args.get("kind", "")
    shown = [
        (row, diff.marked(row.old_article.text, row.new_article.text))
        if row.old_article is not None and row.new_article is not None
        else (row, None)
        for row in rows
        if (row.kind == kind if kind else row.kind != diff.UNCHANGED)
    ]
    counts = {k: sum(1 for r in rows if r.kind == k) for k in (c.kind for c in rows)}
    previous = db.session.get(LawVersion, version.previous_id)
    # Lessons citing an article that changed, went or moved (a reference naming no version
    # was written against the previous one, and now points into this one).
    affected = [r for r in rows if r.kind != diff.UNCHANGED and r.old_article is not None]
    lessons = citing_lessons(previous, [r.old_article for r in affected], True)
    return render_template(
        "laws/changes.html",
        version=version,
        previous=previous,
        lessons=[(r, lessons[r.old_article.id]) for r in affected if r.old_article.id in lessons],
        rows=shown,
        counts=counts,
        kind=kind,
    )


# --- import --------------------------------------------------------------------------


def _import_page(form, plan=None, token=None, impact=None, failed=False):
    preview = None
    if plan is not None:
        preview = {
            "plan": plan,
            "tree": plan.tree(),
            "articles": plan.parsed.main_articles,
            "problems": plan.parsed.problems[:PREVIEW_PROBLEMS],
            "impact": impact,
            "token": token,
            "failed": failed,
            "confirm_form": ConfirmLawImportForm(
                formdata=None, prefix="confirm", law_name=plan.law_name, label=plan.label
            ),
        }
    page = render_template("laws/import.html", form=form, preview=preview)
    return page, 400 if plan is not None and not plan.ok else 200


@bp.route("/import", methods=["GET", "POST"])
@trainer_required
def import_text():
    form = LawTextImportForm()
    if not form.validate_on_submit():
        return _import_page(form)
    filename = uploads.base_name(form.file.data.filename)
    data = form.file.data.read()
    plan = plan_law_import(data, filename, form.law_name.data, form.label.data)
    token = impact = None
    if plan.ok:
        impact = preview_impact(current_actor(), plan)
        plan = plan_law_import(data, filename, form.law_name.data, form.label.data)
        token = uploads.stash(current_user.id, filename, UPLOAD_KIND, data)
    return _import_page(form, plan, token, impact)


@bp.route("/import/<token>", methods=["POST"])
@trainer_required
def confirm_import(token: str):
    form = ConfirmLawImportForm(prefix="confirm")
    pending = uploads.take(current_user.id, token, {UPLOAD_KIND})
    if pending is None:
        flash("该文件已导入或预览已过期（超过一天），请重新上传。", "warning")
        return redirect(url_for("laws.import_text"))
    if not form.validate_on_submit():
        abort(400)
    # Plan again from the stored bytes: the library may have changed since the preview.
    plan = plan_law_import(pending.data, pending.filename, form.law_name.data, form.label.data)
    try:
        result = commit_law_import(current_actor(), plan)
    except LawImportError as error:
        upload = LawTextImportForm(formdata=None)
        show_error(error, upload)
        return _import_page(upload, plan, failed=True)
    uploads.discard(pending)
    version = result.version
    message = (
        f"已导入《{version.law.name}》（{version.label}）{len(plan.parsed.main_articles)} 条。"
    )
    if version.previous_id:
        message += result.summary_line() + f"；{len(result.moved)} 道试题已随新版本改引。"
        if result.flagged_elsewhere:
            message += f"引用改动条文的 {result.flagged_elsewhere} 课学习课程待复核。"
    elif result.flagged_without_diff:
        message += f"原版本没有文本，无法逐条比较：{result.flagged} 道试题待复核。"
    flash(message, "success")
    if broken := broken_citations(version):
        flash(f"题库中有 {len(broken)} 处引用了本版本中不存在的条款，见本页列表。", "warning")
    return redirect(url_for("laws.version_report", version_id=version.id))


@bp.route("/<int:version_id>/report")
@trainer_required
def version_report(version_id: int):
    """For trainers: the citations in the bank this version's text does not have."""
    version = _version_or_404(version_id)
    return render_template("laws/report.html", version=version, broken=broken_citations(version))
