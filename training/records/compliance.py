"""Unit compliance: for a unit subtree and a year, who meets each requirement and who is
behind on what, with reminders for the unit admin. People are listed by unit and name,
never ranked."""

from dataclasses import dataclass, field

from sqlalchemy import Row, select

from core import clock
from core.extensions import db
from core.spreadsheets import Sheet, write_xlsx
from training.accounts import manageable_unit_ids
from training.models import User, subtree_ids
from training.records import activities, certificates, requirements
from training.records.models import Group
from training.records.record import year_totals
from training.records.requirements import Progress
from training.units import unit_paths


@dataclass(slots=True)
class PersonRow:
    #: a row of id, name, unit_id, is_leader, is_enforcement_officer
    person: Row
    unit_path: str
    progress: list[Progress]
    met: bool

    @property
    def behind(self) -> list[str]:
        """What is missing, in words: 学时还差 4.0；会前学法还差 2 次."""
        return requirements.behind_words(self.progress)


@dataclass
class Compliance:
    year: int
    unit_id: int | None
    rows: list[PersonRow] = field(default_factory=list)
    #: requirement label → (people it binds, people who meet it)
    items: dict[str, tuple[int, int]] = field(default_factory=dict)
    reminders: list[str] = field(default_factory=list)

    @property
    def met_count(self) -> int:
        return sum(1 for row in self.rows if row.met)

    @property
    def behind_rows(self) -> list[PersonRow]:
        return [row for row in self.rows if not row.met]


def _people(admin: User, unit_id: int | None):
    stmt = select(User).where(User.is_active)
    scope = manageable_unit_ids(admin)
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    if unit_id:
        stmt = stmt.where(User.unit_id.in_(subtree_ids(unit_id)))
    return stmt


def compliance(admin: User, unit_id: int | None, year: int | None = None) -> Compliance:
    """Everyone active in the admin's units (a unit's subtree when one is chosen)."""
    year = year or clock.china_today().year
    stmt = _people(admin, unit_id)
    # Plain rows, not User objects: what the page needs of 5,000 people, loaded faster.
    people = db.session.execute(
        stmt.with_only_columns(
            User.id, User.name, User.unit_id, User.is_leader, User.is_enforcement_officer
        )
    ).all()
    done = year_totals(stmt.with_only_columns(User.id), year)
    rules = requirements.stored_rules()
    of_year = {group: requirements.rule_for(rules, group, year) for group in Group}
    paths = unit_paths()
    report = Compliance(year, unit_id)
    # Many people have done the same: each outcome is worked out once (5,000 people's
    # evaluations, and their garbage, were a third of the page's time).
    outcomes: dict[tuple, tuple[list[Progress], bool]] = {}
    people_per_outcome: dict[tuple, int] = {}
    for person in people:
        key = (person.is_leader, person.is_enforcement_officer, done[person.id])
        outcome = outcomes.get(key)
        if outcome is None:
            groups = requirements.groups_of(person.is_leader, person.is_enforcement_officer)
            progress = [requirements.evaluate(of_year[g], done[person.id], year) for g in groups]
            outcome = outcomes[key] = (progress, all(p.met for p in progress))
        people_per_outcome[key] = people_per_outcome.get(key, 0) + 1
        report.rows.append(PersonRow(person, paths.get(person.unit_id, ""), *outcome))
    # (group, requirement) → [people it binds, people who meet it]
    counts: dict[tuple, list[int]] = {}
    for key, (progress, _) in outcomes.items():
        for p in progress:
            for item in p.items:
                tally = counts.setdefault((p.group, item.label), [0, 0])
                tally[0] += people_per_outcome[key]
                tally[1] += people_per_outcome[key] * item.met
    report.rows.sort(key=lambda row: (row.unit_path, row.person.name, row.person.id))
    report.items = {
        f"{group.label}：{label}": (total, met) for (group, label), (total, met) in counts.items()
    }
    report.reminders = _reminders(admin, report)
    return report


def _reminders(admin: User, report: Compliance) -> list[str]:
    """What is due, for the unit admin: counts, never names ranked."""
    notes = []
    for key, (total, met) in report.items.items():
        if met < total:
            notes.append(f"{key}：{total - met} 人尚未完成（共 {total} 人）。")
    pending = len(activities.pending_reviews(admin))
    if pending:
        notes.append(f"有 {pending} 条本人提交的学法记录等待审核。")
    due = certificates.due_list(admin)
    if due:
        notes.append(f"有 {len(due)} 张行政执法证即将到期、已过期或待审验。")
    return notes


def export_compliance(report: Compliance) -> bytes:
    labels = list(report.items)
    header = ["单位", "姓名", "人员类别", *labels, "结果", "未完成事项"]
    rows = []
    for row in report.rows:
        done = {}
        for p in row.progress:
            for item in p.items:
                done[f"{p.group.label}：{item.label}"] = f"{item.done}/{item.needed}"
        rows.append(
            [
                row.unit_path,
                row.person.name,
                "、".join(p.group.label for p in row.progress),
                *(done.get(label, "—") for label in labels),
                "已完成" if row.met else "未完成",
                "；".join(row.behind),
            ]
        )
    return write_xlsx(
        [
            Sheet(
                f"{report.year}年学法情况",
                header,
                rows,
                widths=[30, 10, 24, *([14] * len(labels)), 8, 40],
                caption=f"{report.year} 年度学法要求完成情况（导出于 {clock.china_today()}）",
            )
        ]
    )
