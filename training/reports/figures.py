"""Report figures read from exam_summaries, and their roll-up over the unit tree: each
unit's own figures (people directly in it) and its subtree's (it and every unit below).

`scope` arguments are the unit ids an administrator manages
(accounts.manageable_unit_ids): None means all."""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from training.exams.models import Exam
from training.models import Unit
from training.reports.models import BUCKET_COLUMNS, BUCKETS, COUNTERS, ExamSummary


@dataclass
class Figures:
    """Counters of some summary rows added up."""

    assigned: int = 0
    took: int = 0
    passed: int = 0
    excellent: int = 0
    percent_sum: Decimal = Decimal(0)
    attempts: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, other: "Figures") -> None:
        self.assigned += other.assigned
        self.took += other.took
        self.passed += other.passed
        self.excellent += other.excellent
        self.percent_sum += other.percent_sum
        self.attempts += other.attempts
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    @classmethod
    def of_row(cls, row) -> "Figures":
        return cls(
            int(row.assigned or 0),
            int(row.took or 0),
            int(row.passed or 0),
            int(row.excellent or 0),
            Decimal(row.percent_sum or 0),
            int(row.attempts or 0),
            [int(getattr(row, name) or 0) for name in BUCKET_COLUMNS],
        )

    @property
    def empty(self) -> bool:
        return not (self.assigned or self.took)

    @property
    def pass_rate(self) -> float | None:
        """合格率 = 合格人数 / 参考人数."""
        return self.passed / self.took if self.took else None

    @property
    def excellent_rate(self) -> float | None:
        return self.excellent / self.took if self.took else None

    @property
    def participation(self) -> float | None:
        """参考率 = 参考人数 / 应考人数."""
        return self.took / self.assigned if self.assigned else None

    @property
    def mean_percent(self) -> float | None:
        return float(self.percent_sum) / self.took if self.took else None


def summed_columns():
    return [func.sum(ExamSummary.__table__.c[name]).label(name) for name in COUNTERS]


def grouped(*by, where=(), scope: set[int] | None = None, joins=()) -> list:
    """Summary rows added up by the columns `by` (e.g. ExamSummary.unit_id), joined to
    their exam for filters on it, and to each (entity, condition) of `joins`."""
    stmt = select(*by, *summed_columns()).select_from(ExamSummary)
    stmt = stmt.join(Exam, Exam.id == ExamSummary.exam_id)
    for entity, condition in joins:
        stmt = stmt.join(entity, condition)
    stmt = stmt.where(*where).group_by(*by)
    if scope is not None:
        stmt = stmt.where(ExamSummary.unit_id.in_(scope))
    return db.session.execute(stmt).all()


@dataclass
class UnitFigures:
    unit: Unit
    depth: int
    #: people whose unit is this one
    own: Figures
    #: this unit and every unit below it (within the admin's scope)
    subtree: Figures
    has_children: bool = False


def rolled_up(own: dict[int, Figures], scope: set[int] | None = None) -> list[UnitFigures]:
    """The unit tree in display order (depth-first), limited to `scope`, each unit with
    its own figures and its subtree's. A unit outside the scope whose parent is in it does
    not exist for the admin; the roots are the topmost units in scope."""
    units = db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)).all()
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    rows: list[UnitFigures] = []

    def walk(parent_id: int | None, depth: int) -> Figures:
        total = Figures()
        for unit in children.get(parent_id, []):
            if scope is None or unit.id in scope:
                row = UnitFigures(unit, depth, own.get(unit.id, Figures()), Figures())
                row.has_children = unit.id in children
                rows.append(row)
                row.subtree.add(row.own)
                row.subtree.add(walk(unit.id, depth + 1))
                total.add(row.subtree)
            else:
                total.add(walk(unit.id, depth))
        return total

    walk(None, 0)
    return rows


def by_unit(where=(), scope: set[int] | None = None) -> list[UnitFigures]:
    """Per unit in scope, own and subtree figures of the summary rows matching `where`."""
    own = {
        row.unit_id: Figures.of_row(row)
        for row in grouped(ExamSummary.unit_id, where=where, scope=scope)
    }
    return rolled_up(own, scope)
