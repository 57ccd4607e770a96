"""What each role's home page shows: a learner what is due, an administrator the units'
figures, a trainer the bank's health, an auditor the recent privileged actions. Read-only;
every figure comes from an index or a summary table, so the page answers at once."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core import clock
from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank import queries
from training import accounts
from training.exams import candidate
from training.exams.models import Attempt, AttemptStatus, Batch, Exam, ExamStatus
from training.models import User
from training.reports import item_analysis
from training.reports.figures import Figures, grouped
from training.reports.models import ExamSummary
from training.reports.pass_rates import exam_year

#: rows in each list of a dashboard card
SHOWN = 5


@dataclass
class RunningExam:
    exam: Exam
    closes_at: datetime
    #: within the admin's units
    figures: Figures


@dataclass
class AdminDashboard:
    year: int
    running: list[RunningExam]
    #: this year, all exams, within the admin's units
    year_total: Figures
    #: this year's exams with the lowest pass rates first (units act on those)
    year_exams: list[tuple[Exam, Figures]]


@dataclass
class TrainerDashboard:
    health: dict[str, int]
    #: recent exams with submissions: (exam, flagged items, or None when not analysed yet)
    exams: list[tuple[Exam, int | None]]


@dataclass
class Dashboard:
    learner_exams: list = field(default_factory=list)
    admin: AdminDashboard | None = None
    trainer: TrainerDashboard | None = None
    audit: list[AuditEntry] = field(default_factory=list)


def dashboard(user: User, now: datetime, grace: timedelta) -> Dashboard:
    board = Dashboard()
    if user.has_any_role(Role.LEARNER):
        board.learner_exams = learner_due(user, now, grace)
    if user.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN):
        board.admin = admin_dashboard(accounts.manageable_unit_ids(user), now)
    if user.has_any_role(Role.TRAINER):
        board.trainer = trainer_dashboard()
    if user.has_any_role(Role.AUDITOR):
        board.audit = recent_privileged_actions()
    return board


def learner_due(user: User, now: datetime, grace: timedelta) -> list[candidate.Assigned]:
    """The exams the learner can take or continue now: those in progress first, then the
    soonest closing."""
    entries = [entry for entry in candidate.assigned_exams(user, now, grace) if entry.startable]
    return sorted(
        entries,
        key=lambda entry: (
            entry.state != candidate.ExamState.IN_PROGRESS,
            entry.batch.closes_at if entry.batch else entry.exam.closes_at,
        ),
    )


def admin_dashboard(scope: set[int] | None, now: datetime) -> AdminDashboard:
    year = clock.china_time(now).year
    running_rows = db.session.execute(
        select(Exam, func.max(Batch.closes_at))
        .join(Batch, Batch.exam_id == Exam.id)
        .where(Exam.status == ExamStatus.PUBLISHED.value)
        .where(Batch.opens_at <= now, Batch.closes_at > now)
        .group_by(Exam.id)
        .order_by(func.max(Batch.closes_at))
    ).all()
    running_ids = [exam.id for exam, _ in running_rows]
    running_figures = {
        row.exam_id: Figures.of_row(row)
        for row in grouped(
            ExamSummary.exam_id, where=[ExamSummary.exam_id.in_(running_ids)], scope=scope
        )
    }
    # An exam running elsewhere with nobody of the admin's units on it is none of theirs.
    running = [
        RunningExam(exam, closes_at, running_figures[exam.id])
        for exam, closes_at in running_rows
        if exam.id in running_figures
    ][:SHOWN]
    this_year = {
        row.exam_id: Figures.of_row(row)
        for row in grouped(ExamSummary.exam_id, where=[exam_year == year], scope=scope)
    }
    total = Figures()
    for figures in this_year.values():
        total.add(figures)
    exams = {
        exam.id: exam for exam in db.session.scalars(select(Exam).where(Exam.id.in_(this_year)))
    }
    worst = sorted(
        ((exams[exam_id], figures) for exam_id, figures in this_year.items() if figures.took),
        key=lambda pair: (pair[1].pass_rate, pair[0].id),
    )[:SHOWN]
    return AdminDashboard(year, running, total, worst)


def trainer_dashboard() -> TrainerDashboard:
    recent = db.session.scalars(
        select(Exam)
        .where(
            Exam.id.in_(
                select(Attempt.exam_id).where(Attempt.status == AttemptStatus.SUBMITTED.value)
            )
        )
        .order_by(Exam.opens_at.desc(), Exam.id.desc())
        .limit(SHOWN)
    ).all()
    return TrainerDashboard(
        queries.bank_health(), [(exam, item_analysis.flagged_if_known(exam)) for exam in recent]
    )


def recent_privileged_actions() -> list[AuditEntry]:
    """The newest entries but logins and logouts (the auditor searches those in the log)."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.action.not_like("login.%"), AuditEntry.action != "logout")
        .order_by(AuditEntry.id.desc())
        .limit(SHOWN * 2)
    )
    return list(db.session.scalars(stmt))
