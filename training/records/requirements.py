"""Yearly requirements per group and their evaluation.

The evaluation is pure: it takes a person's facts (credit hours with their days, exams
passed, activities attended) and the requirement rows, and says per requirement what is
needed, what is done and whether it is met. Years are China calendar years.

A person belongs to every group whose flag they carry *now* (all staff; leaders; enforcement
officers): someone made a leader in July is held to the leader requirement for that whole
year, and everything they did earlier in the year counts towards it. The platform keeps no
history of the flags, and the yearly figures are not prorated (decided for issue #10).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from training.exams.models import ExamKind
from training.records.models import ActivityKind, Group, Requirement

#: The defaults, used for a group until an admin saves a row for it. No law sets hours or
#: counts: 法治宣传教育法 (2025) requires daily study (art. 36), the oath system (art. 33) and
#: leaders' study in their yearly 述职 (art. 38), without figures. Each figure below is the
#: platform's starting point, with where it comes from; change them on the settings page.
DEFAULTS = {
    Group.ALL: {
        "hours": Decimal(20),
        "exam_kinds": [ExamKind.ANNUAL.value],
        "activities": {},
        "source": (
            "平台初始值，非法定标准：法律未规定学时（《法治宣传教育法》第三十六条只要求健全"
            "国家工作人员日常学法制度）；年度学法考试见本平台设计说明。请按本地规定修改。"
        ),
    },
    Group.LEADER: {
        "hours": Decimal(20),
        "exam_kinds": [ExamKind.ANNUAL.value],
        "activities": {ActivityKind.PRE_MEETING.value: 8, ActivityKind.YEAR_END_REPORT.value: 1},
        "source": (
            "平台初始值，非法定标准。会前学法 8 次：参照来源报告所述区政府常务会议全年"
            "会前学法 8 次（那是会议的次数，不是对个人的要求）；年终述法 1 次：《法治宣传"
            "教育法》第三十八条规定领导干部学法用法情况应当按照规定列入年度述职内容，"
            "平台以年终述法记录。学时为平台初始值。请按本地规定修改。"
        ),
    },
    Group.ENFORCEMENT: {
        "hours": Decimal(20),
        "exam_kinds": [],
        "activities": {},
        "source": (
            "平台初始值，非法定标准：行政执法证年审的学时条件以本地规定为准，请按本地规定修改。"
        ),
    },
}


class RequirementError(ServiceError):
    code = "requirement_rule"


@dataclass(frozen=True)
class Rule:
    """A requirement as the evaluation reads it."""

    group: Group
    from_year: int
    hours: Decimal
    exam_kinds: tuple[str, ...] = ()
    activities: tuple[tuple[str, int], ...] = ()
    source: str = ""
    is_default: bool = False


@dataclass(frozen=True)
class Facts:
    """What a person did, each with its (China) day."""

    #: (day, hours) of every credit: approved activities and completed modules
    credits: Sequence[tuple[date, Decimal]] = ()
    #: (day, exam kind) of every exam passed
    exams: Sequence[tuple[date, str]] = ()
    #: (day, activity kind) of every approved attendance
    activities: Sequence[tuple[date, str]] = ()


@dataclass(frozen=True)
class Item:
    label: str
    needed: Decimal | int
    done: Decimal | int
    #: the exam kind to pass, for an exam item
    exam_kind: str = ""
    #: a person's own view where only an exam that publishes no results could decide it:
    #: shown as 结果未公布, neither met nor behind (see record.hide_undisclosed)
    hidden: bool = False

    @property
    def met(self) -> bool:
        return self.done >= self.needed

    @property
    def missing(self) -> Decimal | int:
        return max(self.needed - self.done, 0)


@dataclass
class Progress:
    year: int
    group: Group
    rule: Rule
    items: list[Item] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(item.met for item in self.items)

    @property
    def behind(self) -> list[Item]:
        return [item for item in self.items if not item.met and not item.hidden]


def behind_words(progress: Iterable[Progress]) -> list[str]:
    """What is missing, in words: 学时还差 4.0；会前学法还差 2 次；尚未通过年度学法考试."""
    words = []
    for group_progress in progress:
        for item in group_progress.behind:
            if item.exam_kind:
                word = f"尚未{item.label}"
            elif item.label == "学时":
                word = f"学时还差 {item.missing}"
            else:
                word = f"{item.label}还差 {item.missing} 次"
            if word not in words:
                words.append(word)
    return words


def groups_of(is_leader: bool, is_enforcement_officer: bool) -> list[Group]:
    groups = [Group.ALL]
    if is_leader:
        groups.append(Group.LEADER)
    if is_enforcement_officer:
        groups.append(Group.ENFORCEMENT)
    return groups


def default_rule(group: Group) -> Rule:
    values = DEFAULTS[group]
    return Rule(
        group=group,
        from_year=0,
        hours=values["hours"],
        exam_kinds=tuple(values["exam_kinds"]),
        activities=tuple(sorted(values["activities"].items())),
        source=values["source"],
        is_default=True,
    )


def rule_for(rules: Iterable[Rule], group: Group, year: int) -> Rule:
    """The row of `group` with the latest from_year not after `year`, else the default."""
    candidates = [r for r in rules if r.group == group and r.from_year <= year]
    return max(candidates, key=lambda r: r.from_year) if candidates else default_rule(group)


@dataclass(frozen=True)
class Totals:
    """A person's facts summed for one year. Hashable: people who did the same share one
    (the compliance page evaluates each distinct one once)."""

    hours: Decimal = Decimal(0)
    exams: frozenset[str] = frozenset()
    #: (activity kind, how many) of each kind attended, by kind
    activities: tuple[tuple[str, int], ...] = ()

    def attended(self, kind: str) -> int:
        return next((count for known, count in self.activities if known == kind), 0)


def totals(facts: Facts, year: int) -> Totals:
    counts: dict[str, int] = {}
    for day, kind in facts.activities:
        if day.year == year:
            counts[kind] = counts.get(kind, 0) + 1
    return Totals(
        hours=sum((hours for day, hours in facts.credits if day.year == year), Decimal(0)),
        exams=frozenset(kind for day, kind in facts.exams if day.year == year),
        activities=tuple(sorted(counts.items())),
    )


def evaluate(rule: Rule, facts: Facts | Totals, year: int) -> Progress:
    """Needed against done, per item of the rule, for one year."""
    done = facts if isinstance(facts, Totals) else totals(facts, year)
    progress = Progress(year, rule.group, rule)
    if rule.hours:
        progress.items.append(Item("学时", rule.hours, done.hours))
    for kind in rule.exam_kinds:
        progress.items.append(
            Item(f"通过{ExamKind(kind).label}", 1, int(kind in done.exams), exam_kind=kind)
        )
    for kind, needed in rule.activities:
        progress.items.append(Item(ActivityKind(kind).label, needed, done.attended(kind)))
    return progress


def evaluate_person(
    rules: Iterable[Rule], groups: Iterable[Group], facts: Facts | Totals, year: int
) -> list[Progress]:
    rules = list(rules)
    done = facts if isinstance(facts, Totals) else totals(facts, year)
    return [evaluate(rule_for(rules, group, year), done, year) for group in groups]


# --- the stored rows -------------------------------------------------------------------


def _rule(row: Requirement) -> Rule:
    return Rule(
        group=Group(row.group_name),
        from_year=row.from_year,
        hours=row.hours,
        exam_kinds=tuple(row.exam_kinds or ()),
        activities=tuple(sorted((row.activities or {}).items())),
        source=row.source,
    )


def stored_rules() -> list[Rule]:
    return [_rule(row) for row in db.session.scalars(select(Requirement))]


def requirement_rows() -> list[Requirement]:
    return list(
        db.session.scalars(
            select(Requirement).order_by(Requirement.group_name, Requirement.from_year.desc())
        )
    )


@dataclass
class RequirementData:
    group: str
    from_year: int | None
    hours: Decimal | None
    exam_kinds: list[str]
    activities: dict[str, int]
    source: str = ""


def save_requirement(actor: Actor, data: RequirementData) -> Requirement:
    """Set a group's requirement from a year on (replacing a row of that same year)."""
    errors = {}
    if data.group not in Group.__members__.values():
        errors["group"] = "请选择适用人员。"
    this_year = clock.china_today().year
    if data.from_year is None or not this_year - 5 <= data.from_year <= this_year + 5:
        errors["from_year"] = f"起始年度应在 {this_year - 5}–{this_year + 5} 之间。"
    if data.hours is None or not Decimal(0) <= data.hours <= Decimal(500):
        errors["hours"] = "学时应在 0–500 之间。"
    if any(kind not in ExamKind.__members__.values() for kind in data.exam_kinds):
        errors["exam_kinds"] = "考试类型无效。"
    if any(
        kind not in ActivityKind.__members__.values() or not 0 <= count <= 100
        for kind, count in data.activities.items()
    ):
        errors["activities"] = "活动次数应在 0–100 之间。"
    if errors:
        raise RequirementError("；".join(errors.values()), fields=errors)
    row = db.session.scalar(
        select(Requirement).where(
            Requirement.group_name == data.group, Requirement.from_year == data.from_year
        )
    )
    before = None
    if row is None:
        row = Requirement(group_name=data.group, from_year=data.from_year)
        db.session.add(row)
    else:
        before = f"{row.hours} 学时 {row.exam_kinds} {row.activities}"
    row.hours = data.hours
    row.exam_kinds = sorted(data.exam_kinds)
    row.activities = {kind: count for kind, count in sorted(data.activities.items()) if count}
    row.source = data.source.strip()[:500]
    row.set_by = actor.id
    row.set_at = clock.now()
    db.session.flush()
    record(
        actor,
        "records.requirement.save",
        object_type="record_requirement",
        object_id=row.id,
        summary=f"{Group(data.group).label} 自{data.from_year}年起：{row.hours} 学时",
        detail={"before": before, "exam_kinds": row.exam_kinds, "activities": row.activities},
    )
    return row
