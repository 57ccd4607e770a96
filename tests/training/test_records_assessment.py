"""Unit assessment (普法考核验收): a scorecard with base and bonus points, figures the
platform fills in marked as such, scoring a unit, the results and their export."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from training.records import activities, scorecards
from training.records.models import Scorecard, UnitScore


def test_criteria_are_parsed_with_chinese_line_errors():
    found = scorecards.parse_criteria("学法制度|20|否|学法计划|参学率\n创新加分|10|是")
    assert [(c.name, c.points, c.bonus, c.figure) for c in found] == [
        ("学法制度", Decimal(20), False, "participation"),
        ("创新加分", Decimal(10), True, ""),
    ]
    with pytest.raises(scorecards.AssessmentError, match="第2行：分值「二十」不是数字"):
        scorecards.parse_criteria("学法制度|20\n考试|二十")
    with pytest.raises(scorecards.AssessmentError, match="没有自动指标「点击量」"):
        scorecards.parse_criteria("学法制度|20|否||点击量")


def test_an_assessor_scores_a_unit_beside_the_figures_and_exports(
    client, login_as, make_unit, root_unit, make_user
):
    bureau = make_unit("区司法局", parent=root_unit)
    admin = make_user(Role.UNIT_ADMIN, unit=bureau)
    people = [make_user(unit=bureau), make_user(unit=bureau)]
    activities.record_activity(
        SYSTEM,
        admin,
        activities.ActivityData("lecture", clock.china_today(), "讲座", Decimal(2)),
        [people[0].id],
        bureau.id,
    )
    db.session.commit()
    assessor = login_as(Role.SYSTEM_ADMIN, unit=make_unit("考核组", parent=None))
    response = client.post(
        "/records/assessment/",
        data={
            "title": "2026年度普法考核验收",
            "year": clock.china_today().year,
            "criteria": "日常学法|50|否|签到表|参学率\n考试|50|否\n创新|20|是|表彰文件",
        },
    )
    assert response.status_code == 302, response.text
    card = db.session.scalar(select(Scorecard))
    page = client.get(f"/records/assessment/{card.id}?unit={bureau.id}").text
    assert "自动统计" in page and "33.3%（1/3 人）" in page  # the admin counts too
    first, second, bonus = card.criteria
    too_many = client.post(
        f"/records/assessment/{card.id}/units/{bureau.id}",
        data={f"c{first.id}": "60"},
        follow_redirects=True,
    )
    assert "得分应在 0–50.0 之间" in too_many.text
    assert db.session.scalar(select(db.func.count()).select_from(UnitScore)) == 0
    client.post(
        f"/records/assessment/{card.id}/units/{bureau.id}",
        data={f"c{first.id}": "45", f"c{second.id}": "40", f"c{bonus.id}": "5"},
    )
    rows = list(
        load_workbook(
            io.BytesIO(client.get(f"/records/assessment/{card.id}/export").data)
        ).active.iter_rows(values_only=True)
    )
    assert "自动统计" in rows[0][0]
    assert rows[1][-4:] == (
        "基本分",
        "加分",
        "合计",
        "自动统计：参学率（本年度有学时记录的人员占比）",
    )
    assert rows[2][0].endswith("区司法局") and rows[2][4:7] == (85, 5, 90)
    assert rows[2][7] == "33.3%（1/3 人）"
    assert assessor.id
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {
        "records.scorecard.create",
        "records.scorecard.score",
        "records.scorecard.export",
    } <= actions


def test_nobody_scores_their_own_unit_or_one_above_it(client, login_as, root_unit, make_unit):
    assessor = login_as(Role.SYSTEM_ADMIN, unit=make_unit("考核组", parent=root_unit))
    card = scorecards.create_scorecard(
        SYSTEM, assessor, "考核", 2026, scorecards.parse_criteria("日常学法|50")
    )
    db.session.commit()
    response = client.post(
        f"/records/assessment/{card.id}/units/{root_unit.id}",
        data={f"c{card.criteria[0].id}": "40"},
        follow_redirects=True,
    )
    assert "不能为本人所在单位" in response.text
    assert db.session.scalar(select(db.func.count()).select_from(UnitScore)) == 0


def test_a_scorecard_is_edited_until_the_first_unit_is_scored_then_copied(
    client, login_as, make_unit, root_unit
):
    bureau = make_unit("区司法局", parent=root_unit)
    login_as(Role.SYSTEM_ADMIN, unit=make_unit("考核组", parent=None))
    client.post(
        "/records/assessment/",
        data={"title": "普法考核", "year": 2026, "criteria": "日常学法|50|否|签到表|参学率"},
    )
    card = db.session.scalar(select(Scorecard))
    page = client.get(f"/records/assessment/{card.id}/edit").text
    assert "日常学法|50|否|签到表|参学率" in page
    bad = client.post(
        f"/records/assessment/{card.id}/edit",
        data={"title": "普法考核", "year": 2026, "criteria": "日常学法|五十"},
    )
    assert "分值「五十」不是数字" in bad.text
    response = client.post(
        f"/records/assessment/{card.id}/edit",
        data={
            "title": "2026年度普法考核",
            "year": 2026,
            "criteria": "日常学法|40|否|签到表|参学率\n考试|60|否||年度学法考试合格率\n创新|20|是",
        },
    )
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert card.title == "2026年度普法考核"
    assert [(c.name, c.points, c.bonus, c.figure) for c in card.criteria] == [
        ("日常学法", Decimal(40), False, "participation"),
        ("考试", Decimal(60), False, "exam_pass_rate"),
        ("创新", Decimal(20), True, ""),
    ]
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "records.scorecard.edit")
    )
    assert "日常学法|50|否|签到表|参学率" in entry.detail
    first = card.criteria[0]
    client.post(f"/records/assessment/{card.id}/units/{bureau.id}", data={f"c{first.id}": "30"})
    refused = client.post(
        f"/records/assessment/{card.id}/edit",
        data={"title": "改", "year": 2026, "criteria": "日常学法|10"},
    )
    assert "已有单位评分，考核表不能再修改" in refused.text
    db.session.expire_all()
    assert card.title == "2026年度普法考核" and len(card.criteria) == 3
    copy = client.get(f"/records/assessment/?copy={card.id}").text
    assert "2026年度普法考核（修订）" in copy and "创新|20|是" in copy
