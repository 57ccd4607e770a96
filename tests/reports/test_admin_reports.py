"""The administrators' report: figures within their units only, filters outside them
refused, every table exported with numeric cells, empty states, one person's record."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from tests.factories import add_questions, make_exam, take
from training.reports import pass_rates

RIGHT = {"true_false": [0]}
WRONG = {"true_false": [1]}


@pytest.fixture
def world(law, make_unit, make_user, root_unit):
    """区 > 司法局 > 普法科, and a 区 unit outside the bureau; an exam this year and one
    last year."""
    add_questions("true_false", 10)
    bureau = make_unit("司法局", parent=root_unit)
    section = make_unit("普法科", parent=bureau)
    town = make_unit("某街道", parent=root_unit)
    people = {
        "局长": make_user(unit=bureau, is_leader=True, name="局长"),
        "科员甲": make_user(unit=section, name="科员甲"),
        "科员乙": make_user(unit=section, name="科员乙"),
        "街道干部": make_user(unit=town, name="街道干部"),
    }
    fields = {"pass_mark": Decimal(60), "grade_bands": [[90, "优秀"], [60, "合格"]]}
    this_year = make_exam(sections=[("true_false", 10, 10)], roster=list(people.values()), **fields)
    take(people["局长"], this_year, RIGHT)
    take(people["科员甲"], this_year, WRONG)
    take(people["街道干部"], this_year, RIGHT)
    last_year = make_exam(sections=[("true_false", 10, 10)], roster=[people["科员乙"]], **fields)
    take(people["科员乙"], last_year, RIGHT)
    last_year.title = "2025年度学法考试"
    last_year.opens_at -= timedelta(days=365)
    db.session.commit()
    bureau_admin = make_user(Role.UNIT_ADMIN, unit=bureau, name="局管理员")
    return {
        "bureau": bureau,
        "section": section,
        "town": town,
        "people": people,
        "exams": (this_year, last_year),
        "bureau_admin": bureau_admin,
    }


def test_a_unit_admin_sees_only_their_subtree(world, client, auth):
    auth.login(world["bureau_admin"])
    page = client.get("/reports/")
    assert page.status_code == 200
    text = page.text
    # All three of the bureau are on this year's roster, 科员乙 on last year's too; 局长 and
    # 科员甲 sat this year's exam, 科员乙 last year's: 3 took it, 2 passed.
    assert "data-total-took>3<" in text and "data-total-assigned>4<" in text
    assert "某街道" not in text and "街道干部" not in text
    assert f'data-unit="{world["bureau"].id}"' in text
    assert f'data-unit="{world["section"].id}"' in text
    assert "data-chart=" in text and "echarts.min.js" in text
    report = pass_rates.admin_report(
        {world["bureau"].id, world["section"].id}, pass_rates.ReportFilter()
    )
    bureau_row, section_row = report.units
    assert (bureau_row.own.took, bureau_row.subtree.took, bureau_row.subtree.passed) == (1, 3, 2)
    assert (section_row.own.took, section_row.own.passed) == (2, 1)
    leaders, others, everyone = report.leaders
    assert (leaders.figures.took, leaders.figures.passed) == (1, 1)
    assert (others.figures.took, everyone.figures.took) == (2, 3)
    assert [step[1] for step in report.funnel] == [4, 3, 3, 2, 2]


def test_years_exams_and_batches(world, make_user):
    this_year, last_year = world["exams"]
    report = pass_rates.admin_report(None, pass_rates.ReportFilter(year=this_year.opens_at.year))
    assert [item.label for item in report.exams] == [this_year.title]
    assert report.total.took == 3 and report.total.assigned == 4
    assert [(item.key, item.figures.took) for item in report.years] == [
        (last_year.opens_at.year, 1),
        (this_year.opens_at.year, 3),
    ]
    by_exam = pass_rates.admin_report(None, pass_rates.ReportFilter(exam_id=this_year.id))
    assert [(item.label, item.figures.took) for item in by_exam.batches] == [("第一批", 3)]
    assert by_exam.distribution[9][1] == 2 and by_exam.distribution[0][1] == 1


def test_a_filter_outside_the_scope_is_refused(world, client, auth):
    auth.login(world["bureau_admin"])
    for url in (
        f"/reports/?unit_id={world['town'].id}",
        f"/reports/export.xlsx?unit_id={world['town'].id}",
    ):
        refused = client.get(url)
        assert refused.status_code == 403
        assert "只能查看本单位及下级单位" in refused.text
    narrowed = client.get(f"/reports/?unit_id={world['section'].id}")
    assert narrowed.status_code == 200 and "data-total-took>2<" in narrowed.text
    bad = client.get("/reports/?year=1999")
    assert bad.status_code == 200 and "已按全部显示" in bad.text


def test_the_export_has_every_table_with_numeric_cells(world, client, auth):
    auth.login(world["bureau_admin"])
    response = client.get(f"/reports/export.xlsx?exam_id={world['exams'][0].id}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "按考试",
        "按场次",
        "按单位",
        "参与情况",
        "成绩分布",
        "历年趋势",
        "领导干部",
    ]
    rows = list(book["按考试"].iter_rows(min_row=3, values_only=True))
    assert rows == [(world["exams"][0].title, 3, 2, 1, 1, 0.5, 0.5, 0.5)]
    units = list(book["按单位"].iter_rows(min_row=3, values_only=True))
    assert units[1][:5] == ("司法局", "含下级", 3, 2, 1)
    assert all(
        isinstance(value, int)
        for _, value in book["参与情况"].iter_rows(min_row=3, values_only=True)
    )
    assert book["按考试"]["F3"].number_format == "0.0%"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report.export"))
    assert entry is not None and entry.actor_id == world["bureau_admin"].id


def test_empty_states_are_said_plainly(app, client, login_as, make_unit, root_unit):
    unit = make_unit("空单位", parent=root_unit)
    login_as(Role.UNIT_ADMIN, unit=unit)
    page = client.get("/reports/")
    assert page.status_code == 200
    assert "data-empty" in page.text and "data-chart=" not in page.text
    export = client.get("/reports/export.xlsx")
    assert export.status_code == 200
    assert load_workbook(io.BytesIO(export.data)).sheetnames[0] == "按考试"


def test_a_filter_that_matches_nothing_says_so(world, client, auth):
    """A valid filter with no figures (no 行政执法证考试 held here): the empty state, no chart."""
    auth.login(world["bureau_admin"])
    page = client.get("/reports/?kind=enforcement")
    assert page.status_code == 200
    assert "data-empty" in page.text and "data-chart=" not in page.text


def test_one_persons_record_is_audited_and_scoped(world, client, auth):
    auth.login(world["bureau_admin"])
    clerk = world["people"]["科员甲"]
    page = client.get(f"/reports/people/{clerk.id}")
    assert page.status_code == 200
    assert (
        "科员甲 的考试记录" in page.text and "不合格" in page.text and "0.00 / 100.00" in page.text
    )
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report.person"))
    assert entry.object_id == str(clerk.id)
    assert client.get(f"/reports/people/{world['people']['街道干部'].id}").status_code == 404
    assert "考试记录" in client.get("/admin/users").text


def test_a_report_showing_a_group_of_one_or_two_is_audited(
    law, make_unit, make_user, root_unit, client, auth
):
    """Three people of a unit took the exam: no group under three, no entry. Once the
    unit's only 领导干部 has taken it too, the report's 领导干部 row is that person's
    result: the view is recorded, with the group named."""
    add_questions("true_false", 10)
    unit = make_unit("司法局", parent=root_unit)
    leader = make_user(unit=unit, is_leader=True)
    people = [make_user(unit=unit) for _ in range(3)]
    exam = make_exam(
        sections=[("true_false", 10, 10)],
        roster=[leader, *people],
        pass_mark=Decimal(60),
        grade_bands=[[90, "优秀"], [60, "合格"]],
    )
    for person in people:
        take(person, exam, RIGHT)
    auth.login(make_user(Role.UNIT_ADMIN, unit=unit, name="局管理员"))

    def entries():
        return db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "report.small_groups")
        ).all()

    page = client.get("/reports/")
    assert page.status_code == 200 and "data-total-took>3<" in page.text
    assert "按考试时所在单位统计" in page.text and "data-small-group-note" in page.text
    assert entries() == []
    take(leader, exam, WRONG)
    assert "data-total-took>4<" in client.get("/reports/").text
    (entry,) = entries()
    assert entry.detail_dict["groups"] == ["人员：领导干部"]
    narrowed = client.get("/reports/?leaders=y")
    assert "data-total-took>1<" in narrowed.text
    assert entries()[-1].detail_dict["leaders"] is True
    assert "合计" in entries()[-1].detail_dict["groups"]
