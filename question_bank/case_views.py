"""The trainers' screens for cases (案例分析): list, write, edit, history, retire."""

from flask import Blueprint, flash, redirect, render_template, url_for

from core.errors import button_action, show_error
from core.extensions import db
from core.forms import EmptyForm
from core.roles import Role, role_required
from core.web import current_actor
from question_bank import bank, cases, views
from question_bank.bank import BankError
from question_bank.drafts import CaseDraft, parse_table_text, table_text
from question_bank.forms import CaseForm
from question_bank.models import Case, QuestionStatus

bp = Blueprint("cases", __name__, url_prefix="/bank/cases")
trainer_required = role_required(Role.TRAINER)
# The sub-questions are shown with the bank's own pieces (bank/_question.html).
bp.context_processor(views.bank_helpers)


def _draft(form: CaseForm) -> CaseDraft:
    """The form as a draft; BankError for what the form's text cannot be read as."""
    questions, problem = cases.parse_parts(form.questions.data or "")
    points, points_problem = cases.parse_points(form.points.data or "", len(questions))
    errors = {}
    if problem:
        errors["questions"] = problem
    if points_problem:
        errors["points"] = points_problem
    if errors:
        raise BankError(errors)
    return CaseDraft(
        title=form.title.data or "",
        material=form.material.data or "",
        questions=questions,
        points=points,
        table=parse_table_text(form.table.data or ""),
    )


@bp.get("/")
@trainer_required
def case_list():
    return render_template("bank/case_list.html", cases=cases.cases(), statuses=QuestionStatus)


@bp.route("/new", methods=["GET", "POST"])
@trainer_required
def new_case():
    form = CaseForm()
    if form.validate_on_submit():
        try:
            case = cases.add_case(current_actor(), _draft(form))
        except BankError as error:
            show_error(error, form)
        else:
            flash(f"已新建案例 #{case.id}。", "success")
            return redirect(url_for("cases.case_detail", case_id=case.id))
    return render_template("bank/case_form.html", form=form, case=None)


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@trainer_required
def edit_case(case_id: int):
    case = db.get_or_404(Case, case_id)
    form = CaseForm()
    if not form.is_submitted():
        draft = cases.draft_of(case)
        form.title.data = draft.title
        form.material.data = draft.material
        form.table.data = table_text(draft.table)
        form.questions.data = cases.numbered_text(draft.questions)
        form.points.data = " ".join(f"{points.normalize():f}" for points in draft.points)
    if form.validate_on_submit():
        try:
            version = cases.edit_case(
                current_actor(), case, _draft(form), form.change_note.data or ""
            )
        except BankError as error:
            show_error(error, form)
        else:
            if version is None:
                flash("没有修改，未生成新版本。", "info")
            else:
                flash(f"已保存，案例现为第 {case.current_number} 版。", "success")
            return redirect(url_for("cases.case_detail", case_id=case.id))
    return render_template("bank/case_form.html", form=form, case=case)


@bp.get("/<int:case_id>")
@trainer_required
def case_detail(case_id: int):
    case = db.get_or_404(Case, case_id)
    return render_template(
        "bank/case_detail.html",
        case=case,
        parts=cases.parts_of(case.current_version),
        bank_draft=bank.current_draft,
        button_form=EmptyForm(),
    )


@bp.post("/<int:case_id>/retire")
@trainer_required
def retire_case(case_id: int):
    case = db.get_or_404(Case, case_id)
    return button_action(
        lambda: cases.retire_case(current_actor(), case),
        "已停用，本案例不再进入新的试卷。",
        url_for("cases.case_detail", case_id=case_id),
    )


@bp.post("/<int:case_id>/restore")
@trainer_required
def restore_case(case_id: int):
    case = db.get_or_404(Case, case_id)
    return button_action(
        lambda: cases.restore_case(current_actor(), case),
        "已恢复。",
        url_for("cases.case_detail", case_id=case_id),
    )
