"""Home pages as dashboards: each role lands on what it acts on."""

from decimal import Decimal

from sqlalchemy import update

from core.extensions import db
from core.roles import Role
from question_bank.models import Question
from tests.factories import add_question, add_questions, make_exam, take
from training.reports import item_analysis

RIGHT = {"true_false": [0]}
WRONG = {"true_false": [1]}


def test_a_learner_sees_the_exams_due(law, client, login_as):
    add_questions("true_false", 2)
    learner = login_as(Role.LEARNER, name="学员甲")
    exam = make_exam(
        sections=[("true_false", 2, 50)], roster=[learner], pass_mark=Decimal(60), grade_bands=[]
    )
    page = client.get("/").text
    assert 'data-home-card="exams"' in page and "data-open-exams>1<" in page
    assert exam.title in page and f"/exams/{exam.id}" in page
    assert 'data-home-card="running"' not in page and 'data-home-card="audit"' not in page


def test_an_admin_sees_running_exams_and_this_years_pass_rate(
    law, client, auth, make_user, make_unit, root_unit
):
    add_questions("true_false", 2)
    bureau = make_unit("司法局", parent=root_unit)
    town = make_unit("某街道", parent=root_unit)
    mine = [make_user(unit=bureau) for _ in range(2)]
    other = make_user(unit=town)
    exam = make_exam(
        sections=[("true_false", 2, 50)],
        roster=[*mine, other],
        pass_mark=Decimal(60),
        grade_bands=[],
    )
    take(mine[0], exam, RIGHT)
    take(mine[1], exam, WRONG)
    take(other, exam, RIGHT)
    admin = make_user(Role.UNIT_ADMIN, unit=bureau)
    auth.login(admin)
    page = client.get("/").text
    assert 'data-home-card="running"' in page and "已交卷 2/2 人" in page
    assert "data-year-rate>50.0%<" in page  # the town's pass is not the bureau admin's
    # An exam running only for other units is not on this admin's card.
    lonely = make_exam(
        sections=[("true_false", 2, 50)],
        roster=[other],
        title="街道专场",
        pass_mark=Decimal(60),
        grade_bands=[],
    )
    assert lonely.title not in client.get("/").text


def test_an_admin_with_nothing_yet_is_told_so(client, login_as, make_unit, root_unit):
    login_as(Role.UNIT_ADMIN, unit=make_unit("空单位", parent=root_unit))
    page = client.get("/").text
    assert "现在没有本单位人员参加的考试在进行" in page and "还没有人交卷" in page


def test_a_trainer_sees_the_banks_health_and_flagged_items(law, client, login_as, make_user):
    questions = add_questions("true_false", 3)
    db.session.execute(
        update(Question).where(Question.id == questions[0].id).values(status="needs_review")
    )
    add_question("true_false", "无依据的判断题", ["正确", "错误"], [0])
    db.session.commit()
    exam = make_exam(
        sections=[("true_false", 2, 50)],
        roster=[make_user()],
        pass_mark=Decimal(60),
        grade_bands=[],
    )
    take(exam.batches[0].members[0].user, exam, RIGHT)
    login_as(Role.TRAINER)
    page = client.get("/").text
    assert "data-needs-review>1<" in page and "data-uncited>1<" in page
    assert f"/reports/exams/{exam.id}/items" in page and "点击查看分析" in page
    item_analysis.analyse_exam(exam)
    db.session.commit()  # as the analysis page's request does: its counts are stored
    # Everyone right on both items: both too easy.
    assert "2 题需关注" in client.get("/").text


def test_an_auditor_sees_recent_privileged_actions(client, login_as, make_user):
    admin = make_user(Role.SYSTEM_ADMIN)
    client.post("/login", data={"login": admin.login, "password": "Passw0rd!"})
    created = client.post(
        "/admin/units", data={"name": "新单位", "parent_id": 0}, follow_redirects=True
    )
    assert "已新建单位" in created.text
    client.post("/logout")
    login_as(Role.AUDITOR)
    page = client.get("/").text
    assert 'data-home-card="audit"' in page and "新单位" in page
    assert "登录成功" not in page and "退出登录" not in page
