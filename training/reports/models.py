"""Summary tables kept up to date in the transaction of each change they summarise, so
that reports read a few thousand rows instead of grouping a million attempts."""

from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db

#: score bands of the distribution, by tenths of full marks: b0 = under 10%, ... b9 = 90%+
BUCKETS = 10


class ExamSummary(db.Model):
    """Per exam, batch, unit and whether 领导干部: people on the roster and the outcome
    of the attempt that counts for each (the exam's rule: best, last or first).

    A person counts under the unit and leader flag they had when their figures last
    changed, under the batch of their first roster entry (assigned) and of the counted
    attempt (the rest)."""

    __tablename__ = "exam_summaries"

    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    is_leader: Mapped[bool] = mapped_column(primary_key=True)
    #: people put on a roster of the exam (counted at their first batch)
    assigned: Mapped[int] = mapped_column(default=0)
    #: people with a submitted attempt (参考)
    took: Mapped[int] = mapped_column(default=0)
    passed: Mapped[int] = mapped_column(default=0)
    #: counted score at least 90% of full marks (优秀)
    excellent: Mapped[int] = mapped_column(default=0)
    #: sum of the counted scores as percentages of full marks, for the mean
    percent_sum: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    #: submitted attempts, retakes included
    attempts: Mapped[int] = mapped_column(default=0)
    b0: Mapped[int] = mapped_column(default=0)
    b1: Mapped[int] = mapped_column(default=0)
    b2: Mapped[int] = mapped_column(default=0)
    b3: Mapped[int] = mapped_column(default=0)
    b4: Mapped[int] = mapped_column(default=0)
    b5: Mapped[int] = mapped_column(default=0)
    b6: Mapped[int] = mapped_column(default=0)
    b7: Mapped[int] = mapped_column(default=0)
    b8: Mapped[int] = mapped_column(default=0)
    b9: Mapped[int] = mapped_column(default=0)


BUCKET_COLUMNS = [f"b{index}" for index in range(BUCKETS)]
COUNTERS = ["assigned", "took", "passed", "excellent", "percent_sum", "attempts", *BUCKET_COLUMNS]


class ItemAnalysisCounts(db.Model):
    """What an exam's item analysis is computed from (training.reports.item_analysis
    .Counts), per choice of attempts, with the stamp of the attempts it was counted over
    and the attempts themselves: counted once for every worker, and brought up to date
    once the stamp differs."""

    __tablename__ = "item_analysis_counts"

    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), primary_key=True)
    #: first, best or all (item_analysis.WHICH)
    which: Mapped[str] = mapped_column(String(8), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(200))
    counts: Mapped[dict] = mapped_column(JSON)
    #: the attempts counted, as [id, revision] pairs: what a newer stamp is compared with,
    #: so that attempts handed in since are added rather than everything counted again
    members: Mapped[list | None] = mapped_column(JSON, deferred=True)
