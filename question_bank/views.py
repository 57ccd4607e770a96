"""The trainers' screens for the question bank: list, edit, history, import, export, laws."""

import io

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from core import uploads
from core.errors import button_action, show_error
from core.extensions import db
from core.forms import EmptyForm, choices
from core.roles import Role, role_required
from core.web import current_actor, page_arg
from question_bank import bank, cases, exporting, formats, importing, search, similar, types
from question_bank.bank import BankError
from question_bank.drafts import format_law_refs, squash
from question_bank.forms import (
    BulkTagForm,
    ConfirmImportForm,
    EditQuestionForm,
    ImportForm,
    LawForm,
    QuestionFilterForm,
    QuestionForm,
    RevisionForm,
)
from question_bank.models import Law, Question, QuestionStatus, QuestionVersion
from question_bank.statutes.library import review_items
from question_bank.types import LETTERS, QUESTION_TYPES

bp = Blueprint("bank", __name__, url_prefix="/bank")
trainer_required = role_required(Role.TRAINER)

PER_PAGE = 50
IMPORT_PREVIEW_ROWS = 50
IMPORT_ERRORS_PER_PAGE = 100
SIMILAR_SHOWN = 200
#: an import's error file waiting for download, in core.uploads beside the uploads
ERROR_FILE = "bank_errors"
EXPORT_EXTENSIONS = {"xlsx": ".xlsx", "csv": ".csv", "gift": ".gift.txt", "moodle_xml": ".xml"}
EXPORT_FORMATS = [(key, spec.label) for key, spec in formats.FORMATS.items() if spec.export]


FILTER_ARGS = ("q", "law_id", "topic_id", "type", "difficulty", "status", "missing_citation")


def list_args(*, page: bool = True) -> dict[str, str]:
    """The list's filters (and page) from the query string, to carry across links."""
    names = (*FILTER_ARGS, "page") if page else FILTER_ARGS
    return {name: value for name, value in request.args.items() if name in names}


def law_refs_text(version: QuestionVersion) -> str:
    return format_law_refs(bank.draft_of(version).law_refs)


@bp.context_processor
def bank_helpers() -> dict:
    return {
        "QUESTION_TYPES": QUESTION_TYPES,
        "QUESTION_KINDS": types.TYPES,
        "types_with_editor": types.with_editor,
        "LETTERS": LETTERS,
        "EXPORT_FORMATS": EXPORT_FORMATS,
        "format_law_refs": format_law_refs,
        "law_refs_text": law_refs_text,
        "list_args": list_args,
        "similar_key": similar.key_text,
    }


def _flash_errors(messages) -> None:
    for message in messages:
        flash(message, "danger")


def _filter_form() -> QuestionFilterForm:
    form = QuestionFilterForm(request.args)
    laws = db.session.scalars(search.all_laws())
    topics = db.session.scalars(search.all_topics())
    form.law_id.choices = choices([(0, "全部法律"), *((law.id, law.name) for law in laws)])
    form.topic_id.choices = choices([(0, "全部知识点"), *((t.id, t.name) for t in topics)])
    return form


# --- list and bulk tagging ---------------------------------------------------------


@bp.route("/")
@trainer_required
def question_list():
    form = _filter_form()
    filters = form.filters()
    page = db.paginate(
        search.list_entries(filters), per_page=PER_PAGE, page=page_arg(), error_out=False
    )
    return render_template(
        "bank/list.html",
        form=form,
        page=page,
        rows=search.list_rows(filters, list(page.items)),
        tag_form=BulkTagForm(),
    )


@bp.route("/tag", methods=["POST"])
@trainer_required
def bulk_tag():
    form = BulkTagForm()
    if form.validate_on_submit():
        ids = form.question_ids.data or []
        questions = db.session.scalars(select(Question).where(Question.id.in_(ids))).all()
        try:
            added = bank.bulk_tag(current_actor(), list(questions), form.topic.data)
        except BankError as error:
            show_error(error)
        else:
            flash(f"已为 {added} 道试题添加知识点「{form.topic.data.strip()}」。", "success")
    else:
        _flash_errors(message for errors in form.errors.values() for message in errors)
    # The form posts to a URL carrying the list's query string, so the trainer stays put.
    return redirect(url_for("bank.question_list", **list_args()))


# --- one question ------------------------------------------------------------------


def _question_page(form: QuestionForm, question: Question | None, preview, similar_found=()):
    return render_template(
        "bank/form.html",
        form=form,
        question=question,
        preview=preview,
        similar_found=similar_found,
    )


@bp.route("/new", methods=["GET", "POST"])
@trainer_required
def new_question():
    form = QuestionForm()
    if not form.is_submitted() and request.args.get("law_refs"):
        # Drafting from an article page: the citation comes filled in.
        form.law_refs.data = request.args["law_refs"][:200]
    preview, similar_found = None, []
    if form.validate_on_submit():
        try:
            checked = bank.check_question(form.draft())
            if not form.save_anyway.data:  # the trainer has seen the list and saves anyway
                similar_found = similar.similar_in_bank(checked)
            if form.preview.data:
                preview = checked
            elif not similar_found:
                question = bank.add_question(current_actor(), form.draft())
        except BankError as error:
            show_error(error, form)
        else:
            if preview is None and not similar_found:
                flash(f"已新建试题 #{question.id}。", "success")
                return redirect(url_for("bank.question_detail", question_id=question.id))
    return _question_page(form, None, preview, similar_found)


@bp.route("/<int:question_id>/edit", methods=["GET", "POST"])
@trainer_required
def edit_question(question_id: int):
    question = db.get_or_404(Question, question_id)
    form = EditQuestionForm()
    if not form.is_submitted():
        form.fill(bank.current_draft(question))
    preview, similar_found = None, []
    if form.validate_on_submit():
        try:
            checked = bank.check_question(form.draft())
            # An edit that rewords the stem may make it read like another question; an
            # edit leaving the stem alone (a key, a citation) is not held up by old pairs.
            reworded = squash(checked.stem) != squash(bank.current_draft(question).stem)
            if reworded and not form.save_anyway.data:
                similar_found = similar.similar_in_bank(checked, exclude_id=question_id)
            if form.preview.data:
                preview = checked
            elif not similar_found:
                # A case's sub-question takes its case to a new version with it.
                edit = cases.edit_part if question.case_id else bank.edit_question
                version = edit(current_actor(), question, form.draft(), form.change_note.data or "")
        except BankError as error:
            show_error(error, form)
        else:
            if preview is None and not similar_found:
                return _after_edit(question_id, version)
    return _question_page(form, question, preview, similar_found)


def _after_edit(question_id: int, version: QuestionVersion | None):
    if version is None:
        flash("没有修改，未生成新版本。", "info")
    else:
        flash(f"已保存为第 {version.number} 版。", "success")
    return redirect(url_for("bank.question_detail", question_id=question_id))


@bp.route("/<int:question_id>")
@trainer_required
def question_detail(question_id: int):
    question = db.get_or_404(Question, question_id)
    return render_template(
        "bank/detail.html",
        question=question,
        current=bank.current_draft(question),
        history=search.version_history(question),
        button_form=EmptyForm(),
        review=review_items(question)
        if question.status == QuestionStatus.NEEDS_REVIEW.value
        else [],
    )


def _question_action(question_id: int, action, done: str):
    question = db.get_or_404(Question, question_id)
    return button_action(
        lambda: action(current_actor(), question),
        done,
        url_for("bank.question_detail", question_id=question_id),
    )


@bp.route("/<int:question_id>/retire", methods=["POST"])
@trainer_required
def retire_question(question_id: int):
    return _question_action(question_id, bank.retire, "已停用，本题不再进入新的练习和试卷。")


@bp.route("/<int:question_id>/restore", methods=["POST"])
@trainer_required
def restore_question(question_id: int):
    return _question_action(question_id, bank.restore, "已恢复。")


@bp.route("/<int:question_id>/confirm", methods=["POST"])
@trainer_required
def confirm_question(question_id: int):
    return _question_action(
        question_id, bank.confirm_review, "已确认复核，本题改为引用现行版本并恢复在用。"
    )


# --- import ------------------------------------------------------------------------


def _page_number(name: str, count: int, per_page: int) -> tuple[int, int]:
    """(page asked for, clamped to what exists; number of pages)."""
    pages = max(1, -(-count // per_page))
    return min(max(request.args.get(name, 1, type=int), 1), pages), pages


def _import_page(form: ImportForm, plan=None, token: str | None = None, failed: bool = False):
    preview = None
    if plan is not None:
        error_page, error_pages = _page_number("page", len(plan.errors), IMPORT_ERRORS_PER_PAGE)
        row_page, row_pages = _page_number("rows", len(plan.rows), IMPORT_PREVIEW_ROWS)
        errors_from = (error_page - 1) * IMPORT_ERRORS_PER_PAGE
        rows_from = (row_page - 1) * IMPORT_PREVIEW_ROWS
        preview = {
            "plan": plan,
            "format_label": formats.FORMATS[plan.format].label
            if plan.format in formats.FORMATS
            else "",
            "errors": plan.errors[errors_from : errors_from + IMPORT_ERRORS_PER_PAGE],
            "error_page": error_page,
            "error_pages": error_pages,
            "rows": plan.rows[rows_from : rows_from + IMPORT_PREVIEW_ROWS],
            "row_page": row_page,
            "row_pages": row_pages,
            "similar": plan.similar[:SIMILAR_SHOWN],
            "duplicate_rows": plan.duplicate_rows,
            "registrations": importing.registrations_needed(plan),
            "token": token,
            "failed": failed,
            "confirm_form": ConfirmImportForm(formdata=None),
            "args": {k: v for k, v in request.args.items() if k in ("page", "rows")},
        }
    page = render_template("bank/import.html", form=form, preview=preview, error_file=None)
    return page, 400 if plan is not None and plan.errors else 200


@bp.route("/import", methods=["GET", "POST"])
@trainer_required
def import_questions():
    form = ImportForm()
    if not form.validate_on_submit():
        errors_token = request.args.get("errors", "")
        error_upload = uploads.take(current_user.id, errors_token, [ERROR_FILE])
        return render_template("bank/import.html", form=form, preview=None, error_file=error_upload)
    filename = uploads.base_name(form.file.data.filename)
    data = form.file.data.read()
    plan = importing.plan_import(data, filename, form.format.data or None)
    token = None
    if plan.format in formats.FORMATS:
        # Kept even when it has errors: their pages, the error file and a partial import
        # all read it again.
        token = uploads.stash(current_user.id, filename, plan.format, data)
    return _import_page(form, plan, token)


@bp.route("/import/<token>")
@trainer_required
def import_preview(token: str):
    """Another page of a preview's errors or rows."""
    pending = uploads.take(current_user.id, token, formats.FORMATS)
    if pending is None:
        flash("该文件已导入或预览已过期（超过一天），请重新上传。", "warning")
        return redirect(url_for("bank.import_questions"))
    plan = importing.plan_import(pending.data, pending.filename, pending.format)
    return _import_page(ImportForm(formdata=None), plan, token)


@bp.route("/import/<token>", methods=["POST"])
@trainer_required
def confirm_import(token: str):
    form = ConfirmImportForm()
    pending = uploads.take(current_user.id, token, formats.FORMATS)
    if pending is None:
        flash("该文件已导入或预览已过期（超过一天），请重新上传。", "warning")
        return redirect(url_for("bank.import_questions"))
    if not form.validate_on_submit():
        abort(400)
    filename = pending.filename
    # Plan again from the stored bytes: the bank may have changed since the preview.
    plan = importing.plan_import(
        pending.data, pending.filename, pending.format, near_duplicates=False
    )
    skip_invalid = bool(form.skip_invalid.data)
    try:
        created = importing.commit_import(
            current_actor(),
            plan,
            keep_duplicates=form.duplicates.data == "keep",
            skip_invalid=skip_invalid,
        )
    except BankError as error:
        upload = ImportForm(formdata=None)
        show_error(error, upload)  # by the upload field; the plan lists each row's problem
        return _import_page(upload, plan, token=token, failed=True)
    uploads.discard(pending)
    if skip_invalid and plan.errors:
        skipped = len(plan.error_rows)
        errors_name = f"{filename.rsplit('.', 1)[0][:200]}-错误行.xlsx"
        errors_token = uploads.stash(
            current_user.id, errors_name, ERROR_FILE, importing.error_file(plan)
        )
        flash(
            f"已从「{filename}」导入 {len(created)} 道试题，跳过有错误的 {skipped} 行。"
            "请下载错误文件，改正后再次导入。",
            "success",
        )
        return redirect(url_for("bank.import_questions", errors=errors_token))
    flash(f"已从「{filename}」导入 {len(created)} 道试题。", "success")
    return redirect(url_for("bank.question_list"))


@bp.route("/import/<token>/errors.xlsx")
@trainer_required
def import_errors(token: str):
    """The refused rows in the template with a 错误原因 column: of a preview (made from
    the stored upload) or of a partial import just done (kept as made)."""
    pending = uploads.take(current_user.id, token, [*formats.FORMATS, ERROR_FILE])
    if pending is None:
        flash("错误文件已过期（超过一天），请重新上传原文件。", "warning")
        return redirect(url_for("bank.import_questions"))
    if pending.format == ERROR_FILE:
        data, name = pending.data, pending.filename
    else:
        plan = importing.plan_import(
            pending.data, pending.filename, pending.format, near_duplicates=False
        )
        data = importing.error_file(plan)
        name = f"{pending.filename.rsplit('.', 1)[0][:200]}-错误行.xlsx"
    return send_file(
        io.BytesIO(data),
        mimetype=formats.FORMATS["xlsx"].mimetype,
        as_attachment=True,
        download_name=name,
    )


@bp.route("/import/template.xlsx")
@trainer_required
def import_template():
    return send_file(
        io.BytesIO(formats.export([], "xlsx")),
        mimetype=formats.FORMATS["xlsx"].mimetype,
        as_attachment=True,
        download_name="题库导入模板.xlsx",
    )


# --- export ------------------------------------------------------------------------


@bp.route("/export")
@trainer_required
def export_questions():
    fmt = request.args.get("format", "xlsx")
    if fmt not in EXPORT_EXTENSIONS:
        flash("不支持该导出格式。", "danger")
        return redirect(url_for("bank.question_list"))
    data, warnings = exporting.export_questions(current_actor(), _filter_form().filters(), fmt)
    if warnings:
        shown = "；".join(warnings[:3]) + ("……" if len(warnings) > 3 else "")
        skipped = f"导出文件缺少 {len(warnings)} 道该格式无法表示的试题"
        flash(f"{skipped}（题号为导出顺序）：{shown}", "warning")
    response = send_file(
        io.BytesIO(data),
        mimetype=formats.FORMATS[fmt].mimetype,
        as_attachment=True,
        download_name=f"题库导出{EXPORT_EXTENSIONS[fmt]}",
    )
    response.headers["X-Export-Skipped"] = str(len(warnings))
    return response


# --- laws --------------------------------------------------------------------------


def _laws_page(law_form: LawForm, revision_form: RevisionForm | None = None, law_id=None):
    return render_template(
        "bank/laws.html",
        laws=db.session.scalars(search.all_laws()).all(),
        counts=search.citing_counts(),
        law_form=law_form,
        revision_form=revision_form,
        failed_law_id=law_id,
        blank_revision=RevisionForm(formdata=None),
    )


@bp.route("/laws")
@trainer_required
def law_list():
    return _laws_page(LawForm(prefix="law"))


@bp.route("/laws", methods=["POST"])
@trainer_required
def create_law():
    form = LawForm(prefix="law")
    if form.validate_on_submit():
        try:
            law = bank.add_law(
                current_actor(),
                form.name.data,
                form.label.data,
                form.full_name.data or "",
                form.effective_on.data,
            )
        except BankError as error:
            show_error(error, form)
        else:
            flash(f"已登记「{law.name}」。", "success")
            return redirect(url_for("bank.law_list"))
    return _laws_page(form)


@bp.route("/laws/<int:law_id>/revisions", methods=["POST"])
@trainer_required
def revise_law(law_id: int):
    law = db.get_or_404(Law, law_id)
    form = RevisionForm()
    if form.validate_on_submit():
        name, label = law.name, form.label.data.strip()
        try:
            flagged = bank.record_law_revision(
                current_actor(), law, form.label.data, form.effective_on.data
            )
        except BankError as error:
            show_error(error, form)
        else:
            flash(
                f"已登记「{name}」新版本「{label}」为现行版本，{flagged} 道试题变为待复核。",
                "success",
            )
            return redirect(url_for("bank.law_list"))
    return _laws_page(LawForm(prefix="law", formdata=None), form, law_id)
