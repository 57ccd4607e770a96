"""Yearly requirements: pure evaluation on made-up facts, and the settings page."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from core.uploads import UploadError, check_evidence
from training.records.models import Group, Requirement
from training.records.requirements import (
    Facts,
    Rule,
    default_rule,
    evaluate,
    evaluate_person,
    groups_of,
    rule_for,
)

LEADER_2026 = Rule(
    Group.LEADER,
    2026,
    Decimal(10),
    exam_kinds=("annual",),
    activities=(("pre_meeting", 2),),
)


def _facts(*credits, exams=(), activities=()) -> Facts:
    return Facts(
        credits=[(day, Decimal(hours)) for day, hours in credits],
        exams=list(exams),
        activities=list(activities),
    )


def test_met_when_every_item_is_done():
    facts = _facts(
        (date(2026, 3, 1), 6),
        (date(2026, 9, 1), 4),
        exams=[(date(2026, 11, 2), "annual")],
        activities=[(date(2026, 3, 1), "pre_meeting"), (date(2026, 9, 1), "pre_meeting")],
    )
    progress = evaluate(LEADER_2026, facts, 2026)
    assert progress.met
    assert [(i.label, i.needed, i.done) for i in progress.items] == [
        ("学时", Decimal(10), Decimal(10)),
        ("通过年度学法考试", 1, 1),
        ("会前学法", 2, 2),
    ]


def test_behind_names_what_is_missing():
    facts = _facts((date(2026, 3, 1), 6), activities=[(date(2026, 3, 1), "pre_meeting")])
    progress = evaluate(LEADER_2026, facts, 2026)
    assert not progress.met
    assert {(i.label, i.missing) for i in progress.behind} == {
        ("学时", Decimal(4)),
        ("通过年度学法考试", 1),
        ("会前学法", 1),
    }


def test_the_edges_of_the_year():
    """31 December counts for its year, 1 January for the next (China days)."""
    facts = _facts(
        (date(2025, 12, 31), 10),
        (date(2027, 1, 1), 10),
        exams=[(date(2025, 12, 31), "annual")],
    )
    assert evaluate(LEADER_2026, facts, 2026).items[0].done == 0
    assert evaluate(LEADER_2026, facts, 2025).items[0].done == Decimal(10)
    assert evaluate(LEADER_2026, facts, 2027).items[0].done == Decimal(10)
    assert evaluate(LEADER_2026, facts, 2026).items[1].done == 0


def test_a_change_applies_from_the_year_it_names():
    later = Rule(Group.LEADER, 2028, Decimal(30))
    rules = [LEADER_2026, later]
    assert rule_for(rules, Group.LEADER, 2027) is LEADER_2026
    assert rule_for(rules, Group.LEADER, 2028) is later
    assert rule_for(rules, Group.LEADER, 2030) is later
    assert rule_for(rules, Group.LEADER, 2025).is_default
    assert rule_for(rules, Group.ALL, 2027) == default_rule(Group.ALL)


def test_a_change_of_group_mid_year_applies_the_new_group_to_the_whole_year():
    """Someone made a leader in July: the leader requirement for 2026, with the hours and
    meetings from before July counted."""
    facts = _facts(
        (date(2026, 2, 1), 10),
        exams=[(date(2026, 5, 1), "annual")],
        activities=[(date(2026, 2, 1), "pre_meeting"), (date(2026, 8, 1), "pre_meeting")],
    )
    before = evaluate_person([LEADER_2026], groups_of(False, False), facts, 2026)
    after = evaluate_person([LEADER_2026], groups_of(True, False), facts, 2026)
    assert [p.group for p in before] == [Group.ALL]
    assert [p.group for p in after] == [Group.ALL, Group.LEADER]
    assert after[1].met


def test_no_hours_item_when_a_rule_asks_none():
    assert evaluate(Rule(Group.ALL, 2026, Decimal(0)), Facts(), 2026).items == []


def test_evidence_over_the_size_limit_is_refused_before_anything_else():
    with pytest.raises(UploadError, match="不能超过 5 MB"):
        check_evidence("扫描.pdf", b"%PDF-" + b"\x00" * (5 * 1024 * 1024))
    assert check_evidence("扫描.PDF", b"%PDF-1.7") == "pdf"
    assert check_evidence("C:\\照片\\签到.JPG", b"\xff\xd8\xff\xe0") == "jpeg"


def test_the_settings_page_states_the_defaults_and_saves_a_change(client, login_as):
    login_as(Role.SYSTEM_ADMIN)
    page = client.get("/records/requirements").text
    assert "法律没有规定学时" in page and "第三十八条" in page and "初始值" in page
    response = client.post(
        "/records/requirements",
        data={
            "group": "leader",
            "from_year": "2027",
            "hours": "40",
            "exam_kinds": ["annual"],
            "count_pre_meeting": "4",
            "source": "区学法制度（示例）",
        },
    )
    assert response.status_code == 302, response.text
    row = db.session.scalar(select(Requirement))
    assert (row.group_name, row.from_year, row.hours) == ("leader", 2027, Decimal(40))
    assert row.activities == {"pre_meeting": 4} and row.exam_kinds == ["annual"]
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action.like("records.%")))
    bad = client.post(
        "/records/requirements", data={"group": "leader", "from_year": "1990", "hours": "1"}
    )
    assert "起始年度应在" in bad.text
    assert db.session.scalar(select(db.func.count()).select_from(Requirement)) == 1


def test_unit_admins_do_not_set_requirements(client, login_as):
    login_as(Role.UNIT_ADMIN)
    assert client.get("/records/requirements").status_code == 403
