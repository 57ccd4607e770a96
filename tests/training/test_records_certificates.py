"""Enforcement certificates with a fixed clock: issued only on a passed exam, validity and
overlap, renewal in the window, yearly review on hours, suspension and revocation, the
due list and the all-or-nothing import."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from tests.factories import add_questions, make_blueprint, make_exam, take
from training.records import activities, certificates
from training.records.certificates import CertificateData, CertificateError
from training.records.models import Certificate, CertificateStatus

# 2026-03-02 08:00 in Beijing
START = datetime(2026, 3, 2, 0, 0)


@pytest.fixture
def people(make_unit, root_unit, make_user, frozen_clock):
    frozen_clock.now = START
    bureau = make_unit("区市场监督管理局", parent=root_unit)
    elsewhere = make_unit("区教育局", parent=root_unit)
    return {
        "bureau": bureau,
        "admin": make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="王管理"),
        "officer": make_user(unit=bureau, name="陈执法", is_enforcement_officer=True),
        "other": make_user(unit=bureau, name="周未考", is_enforcement_officer=True),
        "outsider": make_user(unit=elsewhere, name="钱外人", is_enforcement_officer=True),
    }


def _pass_certificate_exam(person, frozen_clock, passed=True):
    add_questions("true_false", 10)
    exam = make_exam(
        make_blueprint(("true_false", 10, 10)),
        kind="enforcement",
        title="行政执法证考试",
        pass_mark=Decimal(60),
        grade_bands=[],
        roster=[person],
    )
    take(person, exam, answers=None if passed else {"true_false": [1]})
    return exam


def _data(number="市监-0001", issued=date(2026, 3, 2)):
    return CertificateData(number, "市场监管", "示范区人民政府", issued)


def test_issued_only_after_passing_the_certificate_exam(people, frozen_clock, law):
    officer, other, admin = people["officer"], people["other"], people["admin"]
    with pytest.raises(CertificateError, match="没有通过行政执法证考试"):
        certificates.issue(SYSTEM, admin, other, _data())
    _pass_certificate_exam(officer, frozen_clock)
    card = certificates.issue(SYSTEM, admin, officer, _data())
    assert card.valid_until == date(2031, 3, 1) and card.attempt_id is not None
    assert certificates.current_status(card) == CertificateStatus.VALID


def test_overlapping_validity_and_a_duplicate_number_are_refused(people, frozen_clock, law):
    officer, admin = people["officer"], people["admin"]
    _pass_certificate_exam(officer, frozen_clock)
    certificates.issue(SYSTEM, admin, officer, _data())
    with pytest.raises(CertificateError, match="有效期重叠"):
        certificates.issue(SYSTEM, admin, officer, _data("市监-0002", date(2026, 3, 1)))
    with pytest.raises(CertificateError, match="已存在"):
        certificates.issue(SYSTEM, admin, officer, _data())
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_nobody_issues_for_themselves_or_outside_their_units(people, frozen_clock, law):
    with pytest.raises(CertificateError, match="不能为自己"):
        certificates.issue(SYSTEM, people["admin"], people["admin"], _data())
    with pytest.raises(CertificateError, match="不在您管理的单位内"):
        certificates.issue(SYSTEM, people["admin"], people["outsider"], _data())


def test_lifecycle_review_due_expiry_and_no_review_of_an_expired_card(people, frozen_clock, law):
    officer, admin = people["officer"], people["admin"]
    _pass_certificate_exam(officer, frozen_clock)
    card = certificates.issue(SYSTEM, admin, officer, _data(issued=date(2025, 12, 1)))
    assert card.valid_until == date(2030, 11, 30)
    # 2026 is the first whole year held: its review is due from 2027.
    frozen_clock.now = datetime(2027, 1, 5)
    assert certificates.current_status(card) == CertificateStatus.REVIEW_DUE
    with pytest.raises(CertificateError, match=r"2026 年学时 0.*未达到 20"):
        certificates.review(SYSTEM, admin, card, 2026)
    # Twenty hours of training in 2026 meet the enforcement officers' default requirement.
    frozen_clock.now = datetime(2026, 6, 1)
    activities.record_activity(
        SYSTEM,
        admin,
        activities.ActivityData("lecture", date(2026, 6, 1), "执法业务培训", Decimal(20)),
        [officer.id],
        people["bureau"].id,
    )
    frozen_clock.now = datetime(2027, 1, 5)
    certificates.review(SYSTEM, admin, card, 2026)
    assert certificates.current_status(card) == CertificateStatus.VALID
    with pytest.raises(CertificateError, match="已审验"):
        certificates.review(SYSTEM, admin, card, 2026)
    # The day after the last day of validity, it has expired, and cannot be reviewed.
    frozen_clock.now = datetime(2030, 12, 1, 1, 0)
    assert certificates.current_status(card) == CertificateStatus.EXPIRED
    with pytest.raises(CertificateError, match="已过期，不能审验"):
        certificates.review(SYSTEM, admin, card, 2029)


def test_renewal_only_in_the_window_on_an_exam_passed_in_it(people, frozen_clock, law):
    officer, admin = people["officer"], people["admin"]
    _pass_certificate_exam(officer, frozen_clock)
    card = certificates.issue(SYSTEM, admin, officer, _data(issued=date(2026, 3, 2)))
    frozen_clock.now = datetime(2030, 8, 1)
    with pytest.raises(CertificateError, match="届满前 6 个月内"):
        certificates.renew(SYSTEM, admin, card, "市监-0002")
    frozen_clock.now = datetime(2030, 9, 10)
    with pytest.raises(CertificateError, match="没有通过行政执法证考试"):
        certificates.renew(SYSTEM, admin, card, "市监-0002")
    _pass_certificate_exam(officer, frozen_clock)
    new = certificates.renew(SYSTEM, admin, card, "市监-0002")
    assert (new.issued_on, new.valid_until) == (date(2031, 3, 2), date(2036, 3, 1))
    assert new.renews_id == card.id


def test_suspension_and_revocation_need_a_reason(people, frozen_clock, law):
    officer, admin = people["officer"], people["admin"]
    _pass_certificate_exam(officer, frozen_clock)
    card = certificates.issue(SYSTEM, admin, officer, _data())
    with pytest.raises(CertificateError, match="请填写原因"):
        certificates.suspend(SYSTEM, admin, card, " ")
    certificates.suspend(SYSTEM, admin, card, "涉嫌违法执法，调查期间暂扣")
    assert certificates.current_status(card) == CertificateStatus.SUSPENDED
    with pytest.raises(CertificateError, match="暂扣期间不能审验"):
        certificates.review(SYSTEM, admin, card, 2025)
    certificates.lift_suspension(SYSTEM, admin, card)
    certificates.revoke(SYSTEM, admin, card, "调离执法岗位")
    assert certificates.current_status(card) == CertificateStatus.REVOKED
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"records.certificate.suspend", "records.certificate.revoke"} <= actions


def _workbook(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(certificates.IMPORT_COLUMNS))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_is_all_or_nothing_with_chinese_row_errors(client, auth, people):
    officer, outsider = people["officer"], people["outsider"]
    good = (
        "市监-0101",
        officer.login,
        "陈执法",
        "市场监管",
        "示范区人民政府",
        "2023-05-01",
        "2028-04-30",
    )
    bad = [
        (
            "市监-0102",
            outsider.login,
            "钱外人",
            "市场监管",
            "示范区人民政府",
            "2023-05-01",
            "2028-04-30",
        ),
        ("市监-0101", officer.login, "陈执法", "", "示范区人民政府", "2023/13/01", "2028-04-30"),
    ]
    auth.login(people["admin"])
    response = client.post(
        "/records/certificates/import",
        data={"file": (io.BytesIO(_workbook(good, *bad)), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert f"第3行：账号「{outsider.login}」不存在或不在您管理的单位内" in response.text
    assert (
        "第4行：证号「市监-0101」在文件中重复；执法领域不能为空；发证日期格式应为" in response.text
    )
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    response = client.post(
        "/records/certificates/import",
        data={"file": (io.BytesIO(_workbook(good)), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    card = db.session.scalar(select(Certificate))
    assert card.imported and card.valid_until == date(2028, 4, 30)


def test_due_list_by_unit_and_its_export(client, auth, people, frozen_clock, law):
    officer, admin = people["officer"], people["admin"]
    _pass_certificate_exam(officer, frozen_clock)
    soon = certificates.issue(SYSTEM, admin, officer, _data(issued=date(2021, 6, 1)))
    db.session.add(
        Certificate(
            number="教育-0001",
            user_id=people["outsider"].id,
            field="教育",
            authority="示范区人民政府",
            issued_on=date(2021, 6, 1),
            valid_until=date(2026, 5, 31),
            created_by=admin.id,
        )
    )
    db.session.commit()
    auth.login(admin)
    page = client.get("/records/certificates/due").text
    assert soon.number in page and "换证（2026-05-31 到期）" in page
    assert "教育-0001" not in page
    rows = list(
        load_workbook(
            io.BytesIO(client.get("/records/certificates/due.xlsx").data)
        ).active.iter_rows(values_only=True)
    )
    assert rows[2][2] == soon.number and len(rows) == 3


def test_the_certificate_shows_on_the_holders_record(client, auth, people, frozen_clock, law):
    officer = people["officer"]
    _pass_certificate_exam(officer, frozen_clock)
    card = certificates.issue(SYSTEM, people["admin"], officer, _data())
    db.session.commit()
    auth.login(officer)
    page = client.get("/records/").text
    assert card.number in page and "有效" in page
    assert client.get(f"/records/certificates/{card.id}").status_code == 200


def test_settings_change_the_validity(client, login_as, people, frozen_clock, law):
    login_as(Role.SYSTEM_ADMIN)
    client.post(
        "/records/certificates/settings", data={"validity_years": "3", "renewal_months": "3"}
    )
    assert certificates.policy() == certificates.Policy(3, 3, False)
    _pass_certificate_exam(people["officer"], frozen_clock)
    card = certificates.issue(SYSTEM, people["admin"], people["officer"], _data())
    assert card.valid_until == date(2029, 3, 1)


def test_an_admin_does_not_import_a_certificate_for_themselves(client, auth, people):
    admin = people["admin"]
    own = (
        "市监-9999",
        admin.login,
        "王管理",
        "市场监管",
        "示范区人民政府",
        "2026-01-01",
        "2030-12-31",
    )
    auth.login(admin)
    response = client.post(
        "/records/certificates/import",
        data={"file": (io.BytesIO(_workbook(own)), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert "第2行：不能为自己导入执法证" in response.text
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_reading_anothers_certificate_and_exporting_the_due_list_are_audited(
    client, auth, people, frozen_clock, law
):
    officer, admin = people["officer"], people["admin"]
    _pass_certificate_exam(officer, frozen_clock)
    card = certificates.issue(SYSTEM, admin, officer, _data(issued=date(2021, 6, 1)))
    db.session.commit()

    def actions():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))

    before = len(actions())
    auth.login(officer)
    assert client.get(f"/records/certificates/{card.id}").status_code == 200
    assert "records.certificate.view" not in actions()[before:]  # one's own: not audited
    auth.logout()
    auth.login(admin)
    assert client.get(f"/records/certificates/{card.id}").status_code == 200
    assert client.get("/records/certificates/due.xlsx").status_code == 200
    logged = actions()[before:]
    assert "records.certificate.view" in logged and "records.certificate.export_due" in logged


def test_an_admin_never_sees_another_units_certificates(client, auth, people, frozen_clock):
    db.session.add_all(
        [
            Certificate(
                number=number,
                user_id=holder.id,
                field="市场监管",
                authority="示范区人民政府",
                issued_on=date(2025, 1, 1),
                valid_until=date(2029, 12, 31),
                imported=True,
            )
            for number, holder in (
                ("本单位-0001", people["officer"]),
                ("外单位-0001", people["outsider"]),
            )
        ]
    )
    db.session.commit()
    outside = db.session.scalar(select(Certificate).where(Certificate.number == "外单位-0001"))
    auth.login(people["admin"])
    page = client.get("/records/certificates/").text
    assert "本单位-0001" in page and "外单位-0001" not in page
    assert client.get(f"/records/certificates/{outside.id}").status_code == 404
    refused = client.post(
        f"/records/certificates/{outside.id}/suspend", data={"reason": "试图越权"}
    )
    assert refused.status_code == 404
    db.session.refresh(outside)
    assert outside.status == "valid"


def test_forms_never_tell_a_missing_account_from_one_outside_the_admins_units(client, auth, people):
    """Review finding F7: one message for both, so a form confirms no account elsewhere."""
    auth.login(people["admin"])
    answers = []
    for login in (people["outsider"].login, "nobody-here"):
        issued = client.post(
            "/records/certificates/new",
            data={
                "login": login,
                "number": "市监-0201",
                "field": "市场监管",
                "authority": "示范区人民政府",
                "issued_on": "2026-03-02",
            },
        )
        imported = client.post(
            "/records/certificates/import",
            data={
                "file": (
                    io.BytesIO(
                        _workbook(
                            (
                                "市监-0202",
                                login,
                                "钱外人",
                                "市场监管",
                                "示范区人民政府",
                                "2023-05-01",
                                "2028-04-30",
                            )
                        )
                    ),
                    "台账.xlsx",
                )
            },
            content_type="multipart/form-data",
        )
        assert "账号不存在或不在您管理的单位内" in issued.text
        assert f"账号「{login}」不存在或不在您管理的单位内" in imported.text
        answers.append((issued.text.count("不在您管理"), imported.text.count("不在您管理")))
        assert "该人员" not in issued.text + imported.text
    assert answers[0] == answers[1]
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
