"""Unit assessment (普法考核验收): a scorecard of criteria with points (base and bonus) and
the evidence each needs; an assessor scores each unit, seeing beside each criterion the
figure the platform already knows for it, marked as filled in automatically."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import distinct, func, select

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from core.spreadsheets import Sheet, write_xlsx
from training.exams.models import Attempt, AttemptStatus, Exam, ExamKind
from training.models import Unit, User, subtree_ids
from training.records import requirements
from training.records.certificates import count_valid
from training.records.models import Criterion, Scorecard, UnitScore
from training.records.record import year_totals
from training.units import unit_paths

#: figure key → what it is; computed over the unit and every unit below it, for the year
FIGURES = {
    "participation": "参学率（本年度有学时记录的人员占比）",
    "requirements_met": "年度学法要求完成率",
    "exam_pass_rate": "年度学法考试合格率（参考人员中）",
    "excellence_rate": "年度学法考试优秀率（参考人员中）",
    "hours": "人均学时",
    "certificates_valid": "有效行政执法证数",
}


class AssessmentError(ServiceError):
    code = "assessment_rule"


@dataclass
class CriterionData:
    name: str
    points: Decimal
    bonus: bool = False
    evidence: str = ""
    figure: str = ""


def parse_criteria(text: str) -> list[CriterionData]:
    """One criterion a line: 名称|分值|加分（是/否）|佐证材料|自动指标, the last three
    optional."""
    found, errors = [], []
    figures_by_label = {label.split("（")[0]: key for key, label in FIGURES.items()}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.replace("｜", "|").split("|")]
        parts += [""] * (5 - len(parts))
        name, points, bonus, evidence, figure = parts[:5]
        try:
            value = Decimal(points)
        except InvalidOperation:
            errors.append(f"第{number}行：分值「{points}」不是数字")
            continue
        if not name or value <= 0:
            errors.append(f"第{number}行：须有名称和大于 0 的分值")
            continue
        key = figures_by_label.get(figure, figure)
        if key and key not in FIGURES:
            errors.append(f"第{number}行：没有自动指标「{figure}」")
            continue
        found.append(CriterionData(name[:200], value, bonus in ("是", "加分"), evidence[:500], key))
    if errors:
        raise AssessmentError("；".join(errors) + "。", fields={"criteria": "；".join(errors)})
    if not found:
        raise AssessmentError("请填写考核项目。", fields={"criteria": "请填写考核项目。"})
    return found


def criteria_text(scorecard: Scorecard) -> str:
    """The criteria in the form's text, one a line (what parse_criteria reads back)."""
    return "\n".join(
        "|".join(
            [
                c.name,
                f"{c.points.normalize():f}",
                "是" if c.bonus else "否",
                c.evidence,
                FIGURES[c.figure].split("（")[0] if c.figure else "",
            ]
        ).rstrip("|")
        for c in scorecard.criteria
    )


def _checked_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise AssessmentError("请填写名称。", fields={"title": "请填写名称。"})
    return title[:200]


def _set_criteria(scorecard: Scorecard, criteria: list[CriterionData]) -> None:
    scorecard.criteria = [
        Criterion(
            position=position,
            name=item.name,
            points=item.points,
            bonus=item.bonus,
            evidence=item.evidence,
            figure=item.figure,
        )
        for position, item in enumerate(criteria, start=1)
    ]


def create_scorecard(actor: Actor, admin: User, title: str, year: int, criteria) -> Scorecard:
    scorecard = Scorecard(title=_checked_title(title), year=year, created_by=admin.id)
    _set_criteria(scorecard, criteria)
    db.session.add(scorecard)
    db.session.flush()
    record(
        actor,
        "records.scorecard.create",
        object_type="record_scorecard",
        object_id=scorecard.id,
        summary=f"{title}（{len(scorecard.criteria)} 项）",
    )
    return scorecard


def is_scored(scorecard: Scorecard) -> bool:
    return bool(scores_of(scorecard))


def edit_scorecard(
    actor: Actor, scorecard: Scorecard, title: str, year: int, criteria: list[CriterionData]
) -> None:
    """Change a scorecard until the first unit is scored; after that its criteria are what
    the scores were given against, so it stays (a changed one is a new scorecard)."""
    if is_scored(scorecard):
        raise AssessmentError("已有单位评分，考核表不能再修改；如需调整，请复制为新考核表。")
    before = f"{scorecard.title}（{scorecard.year} 年度）\n{criteria_text(scorecard)}"
    scorecard.title = _checked_title(title)
    scorecard.year = year
    _set_criteria(scorecard, criteria)
    db.session.flush()
    record(
        actor,
        "records.scorecard.edit",
        object_type="record_scorecard",
        object_id=scorecard.id,
        summary=f"{scorecard.title}（{len(scorecard.criteria)} 项）",
        detail={"before": before},
    )


def scorecards() -> list[Scorecard]:
    return list(db.session.scalars(select(Scorecard).order_by(Scorecard.year.desc(), Scorecard.id)))


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def figures(unit_id: int, year: int) -> dict[str, str]:
    """The platform's figures for the unit's subtree and the year, as shown."""
    units = subtree_ids(unit_id)
    people_stmt = select(User.id).where(User.unit_id.in_(units), User.is_active)
    people = db.session.scalars(people_stmt).all()
    totals = year_totals(list(people), year)
    rules = requirements.stored_rules()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(people))))}
    met = 0
    hours = Decimal(0)
    active = 0
    for person_id, known in totals.items():
        person = users[person_id]
        groups = requirements.groups_of(person.is_leader, person.is_enforcement_officer)
        met += all(p.met for p in requirements.evaluate_person(rules, groups, known, year))
        hours += known.hours
        active += known.hours > 0
    start = clock.china_day_bounds(date(year, 1, 1))[0]
    end = clock.china_day_bounds(date(year, 12, 31))[1]
    sat = (
        select(Attempt.user_id, func.max(Attempt.score - Exam.pass_mark).label("margin"))
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.user_id.in_(people_stmt),
            Attempt.status == AttemptStatus.SUBMITTED.value,
            Exam.kind == ExamKind.ANNUAL.value,
            Attempt.submitted_at >= start,
            Attempt.submitted_at < end,
        )
        .group_by(Attempt.user_id)
    )
    rows = db.session.execute(sat).all()
    excellent = db.session.scalar(
        select(func.count(distinct(Attempt.user_id)))
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.user_id.in_(people_stmt),
            Attempt.status == AttemptStatus.SUBMITTED.value,
            Exam.kind == ExamKind.ANNUAL.value,
            Attempt.grade_label == "优秀",
            Attempt.submitted_at >= start,
            Attempt.submitted_at < end,
        )
    )
    passed = sum(1 for _, margin in rows if margin is not None and margin >= 0)
    return {
        "participation": f"{_percent(active, len(people))}（{active}/{len(people)} 人）",
        "requirements_met": f"{_percent(met, len(people))}（{met}/{len(people)} 人）",
        "exam_pass_rate": f"{_percent(passed, len(rows))}（{passed}/{len(rows)} 人）",
        "excellence_rate": f"{_percent(excellent, len(rows))}（{excellent}/{len(rows)} 人）",
        "hours": f"{(hours / len(people)).quantize(Decimal('0.1')) if people else 0} 学时",
        "certificates_valid": f"{count_valid(people_stmt)} 张",
    }


def scores_of(scorecard: Scorecard) -> dict[tuple[int, int], UnitScore]:
    """(criterion id, unit id) → score."""
    rows = db.session.scalars(
        select(UnitScore).where(
            UnitScore.criterion_id.in_([criterion.id for criterion in scorecard.criteria])
        )
    )
    return {(row.criterion_id, row.unit_id): row for row in rows}


def score_unit(
    actor: Actor, admin: User, scorecard: Scorecard, unit: Unit, points: dict[int, Decimal | None]
) -> None:
    """Set the unit's points on each criterion given (empty leaves it unscored)."""
    if admin.unit_id in subtree_ids(unit.id):
        raise AssessmentError("不能为本人所在单位（或其上级单位）评分。", status=403)
    existing = scores_of(scorecard)
    errors = {}
    for criterion in scorecard.criteria:
        value = points.get(criterion.id)
        if value is not None and not Decimal(0) <= value <= criterion.points:
            errors[f"c{criterion.id}"] = (
                f"「{criterion.name}」的得分应在 0–{criterion.points} 之间。"
            )
    if errors:
        raise AssessmentError("；".join(errors.values()), fields=errors)
    for criterion in scorecard.criteria:
        value = points.get(criterion.id)
        row = existing.get((criterion.id, unit.id))
        if value is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = UnitScore(
                criterion_id=criterion.id, unit_id=unit.id, points=value, scored_by=admin.id
            )
            db.session.add(row)
        row.points, row.scored_by, row.scored_at = value, admin.id, clock.now()
    db.session.flush()
    record(
        actor,
        "records.scorecard.score",
        object_type="record_scorecard",
        object_id=scorecard.id,
        summary=unit.path,
        detail={"unit": unit.id},
    )


@dataclass
class UnitResult:
    unit_id: int
    path: str
    points: dict[int, Decimal]

    def total(self, criteria, bonus: bool) -> Decimal:
        return sum(
            (self.points[c.id] for c in criteria if c.bonus == bonus and c.id in self.points),
            Decimal(0),
        )


def results(scorecard: Scorecard) -> list[UnitResult]:
    """Every scored unit, by its place in the tree (never by score)."""
    paths = unit_paths()
    by_unit: dict[int, dict[int, Decimal]] = {}
    for (criterion_id, unit_id), row in scores_of(scorecard).items():
        by_unit.setdefault(unit_id, {})[criterion_id] = row.points
    found = [
        UnitResult(unit_id, paths.get(unit_id, ""), points) for unit_id, points in by_unit.items()
    ]
    return sorted(found, key=lambda result: result.path)


def export_results(actor: Actor, scorecard: Scorecard) -> bytes:
    rows = results(scorecard)
    criteria = scorecard.criteria
    record(
        actor,
        "records.scorecard.export",
        object_type="record_scorecard",
        object_id=scorecard.id,
        summary=f"{len(rows)} 个单位",
    )
    header = ["单位", *(f"{c.name}（{'加分' if c.bonus else ''}{c.points}分）" for c in criteria)]
    header += [
        "基本分",
        "加分",
        "合计",
        *(f"自动统计：{FIGURES[c.figure]}" for c in criteria if c.figure),
    ]
    body = []
    for result in rows:
        auto = figures(result.unit_id, scorecard.year) if any(c.figure for c in criteria) else {}
        base, bonus = result.total(criteria, False), result.total(criteria, True)
        body.append(
            [
                result.path,
                *(result.points.get(c.id, "") for c in criteria),
                base,
                bonus,
                base + bonus,
                *(auto[c.figure] for c in criteria if c.figure),
            ]
        )
    return write_xlsx(
        [
            Sheet(
                "考核结果",
                header,
                body,
                widths=[30, *([14] * (len(header) - 1))],
                caption=(
                    f"{scorecard.title}（{scorecard.year} 年度）；"
                    "“自动统计”列为平台根据已有记录自动填入"
                ),
            )
        ]
    )


EXAMPLE = "\n".join(
    [
        "组织领导与制度建设|20|否|普法责任清单、年度普法计划",
        "领导干部学法|20|否|会前学法记录、年终述法报告|年度学法要求完成率",
        "国家工作人员学法考试|20|否|考试成绩单|年度学法考试合格率",
        "日常学法与培训|20|否|培训通知、签到表|参学率",
        "执法人员资格管理|20|否|执法证台账|有效行政执法证数",
        "普法工作创新、获上级表彰|20|是|表彰文件",
    ]
)
