"""The demo course loader (made-up course folders here; the shipped course is checked by
seed-demo's own test), and how a 民法典 module's quiz picks its book's questions."""

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank
from question_bank.demo import DEMO_BANK, load_demo_bank
from question_bank.drafts import chinese_numeral, parse_law_refs
from question_bank.statutes.library import commit_law_import, plan_law_import
from tests.factories import add_questions
from training.demo import DEMO_PASSWORD
from training.exams.models import Exam
from training.study.demo import (
    DEMO_COURSE,
    DemoCourseError,
    check_course,
    load_demo_course,
    read_course,
)
from training.study.models import Program

#: 民法典's books by article (its own headings: 第一编 总则 第1–204条 … 第七编 第1164–1258条)
BOOKS = {
    "总则编": (1, 204),
    "物权编": (205, 462),
    "合同编": (463, 988),
    "人格权编": (989, 1039),
    "婚姻家庭编": (1040, 1118),
    "继承编": (1119, 1163),
    "侵权责任编": (1164, 1258),
}


def test_every_civil_code_question_is_tagged_with_the_book_its_articles_are_in():
    """A 民法典 module's quiz draws the questions tagged with its 编; that tag must agree
    with the articles each question cites: at least one lies in that book (a question on
    表见代表 cites 第61条 of 总则 beside 第504条 of 合同, and is tagged 总则编)."""
    with (DEMO_BANK / "civil_code.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 161
    for row in rows:
        book = row["知识点"].split("|")[0]
        low, high = BOOKS[book]
        refs, error = parse_law_refs(row["法律依据"])
        assert error is None
        articles = [ref.article for ref in refs if ref.law == "民法典"]
        assert any(low <= n <= high for n in articles), (book, row["法律依据"])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _lesson(title: str, refs: str) -> str:
    return f"---\ntitle: {title}\n依据: {refs}\n---\n\n## 要点\n\n正文，见{refs}。\n\n### 案例一：某镇\n\n答案。\n"


def _course(folder: Path, civil_refs: str = "民法典（2020年）第1条、第2条第1款") -> Path:
    _write(folder / "民法典/01-总则/module.md", "# 总则编：基本规则\n\n简介。\n")
    _write(folder / "民法典/01-总则/01-甲.md", _lesson("第一课", civil_refs))
    _write(folder / "民法典/01-总则/02-乙.md", _lesson("第二课", "民法典（2020年）第2条"))
    _write(folder / "宪法/01-国家机构/module.md", "# 任前学法：国家机构\n\n简介。\n")
    _write(folder / "宪法/01-国家机构/01-丙.md", _lesson("宪法课", "宪法（2018年修正）第1条"))
    return folder


@pytest.fixture
def demo_laws(app):
    """民法典 (with a short made-up text) and 宪法, and enough tagged questions of each
    for the demo quiz (5 单选, 2 多选, 3 判断)."""
    bank.add_law(SYSTEM, "宪法", "2018年修正")
    bank.add_law(SYSTEM, "民法典", "2020年")
    # 60 one-paragraph articles: the questions below cite 第1–50条.
    text = "".join(f"第{chinese_numeral(n)}条　测试条文{n}。\n" for n in range(1, 61)).encode()
    commit_law_import(SYSTEM, plan_law_import(text, "民法典.txt", "民法典", "2020年"))
    for law in ("民法典", "宪法"):
        made = [
            *add_questions("single", 5, law_name=law),
            *add_questions("multiple", 2, law_name=law),
            *add_questions("true_false", 3, law_name=law),
        ]
        if law == "民法典":
            bank.bulk_tag(SYSTEM, made, "总则编")
    db.session.commit()


def test_the_loader_creates_and_publishes_both_programs(demo_laws, tmp_path):
    programs = load_demo_course(SYSTEM, _course(tmp_path))
    db.session.commit()
    civil, constitution = programs
    assert (civil.title, constitution.title) == ("民法典学习课程", "任前宪法学习")
    (module,) = civil.modules
    version = module.published
    assert version.title == "总则编：基本规则" and [x.title for x in version.lessons] == [
        "第一课",
        "第二课",
    ]
    assert version.lessons[0].law_refs == "民法典（2020年）第1条、第2条第1款"
    exam = db.session.get(Exam, version.quiz_exam_id)
    assert exam.kind == "module_quiz" and exam.status == "published"
    assert {s.topic.name for s in exam.blueprint.sections} == {"总则编"}
    assert {s.law.name for s in exam.blueprint.sections} == {"民法典"}
    assert constitution.modules[0].published.quiz_topic_id is None


@pytest.mark.parametrize(
    ("refs", "message"),
    [
        ("民法典（2020年）第61条", "没有第61条"),  # not in the imported text
        ("民法典（2020年）第1条第2款", "只有1款"),
        ("宪法（2018年修正）序言", "缺少条款号"),
        ("刑法（2020年）第1条", "法律库中没有「刑法」"),
        ("民法典（2019年）第1条", "没有登记版本"),
        ("", "缺少依据"),
    ],
)
def test_the_loader_refuses_a_citation_it_cannot_find(demo_laws, tmp_path, refs, message):
    with pytest.raises(DemoCourseError, match=message):
        load_demo_course(SYSTEM, _course(tmp_path, civil_refs=refs))


def test_a_module_folder_without_a_quiz_topic_in_the_bank_is_refused(demo_laws, tmp_path):
    course = _course(tmp_path)
    _write(course / "民法典/02-物权/module.md", "# 物权编\n\n简介。\n")
    _write(course / "民法典/02-物权/01-丁.md", _lesson("物权课", "民法典（2020年）第1条"))
    with pytest.raises(DemoCourseError, match="没有知识点「物权编」"):
        load_demo_course(SYSTEM, course)


def test_a_lesson_without_front_matter_is_refused(demo_laws, tmp_path):
    course = _course(tmp_path)
    _write(course / "民法典/01-总则/03-戊.md", "# 没有文件头\n正文")
    with pytest.raises(DemoCourseError, match="文件头"):
        read_course(course)


def test_an_empty_folder_loads_nothing(app, tmp_path):
    assert load_demo_course(SYSTEM, tmp_path) == []


# --- the shipped course -----------------------------------------------------------------

SHARED_LAWS = Path(__file__).resolve().parents[2].parent / "shared" / "laws"
CASE = re.compile(r"^### 案例", re.M)


def test_the_shipped_course_has_the_shape_the_issue_asks_for():
    course = read_course(DEMO_COURSE)
    civil = course["民法典"]
    assert [m.topic for m in civil] == list(BOOKS)  # one module per book, in order
    assert len(course["宪法"]) == 1
    for module in [*civil, *course["宪法"]]:
        assert len(module.lessons) >= 3, module.path
        assert 60 <= len(module.summary) <= 200, module.path
        for lesson in module.lessons:
            characters = len(re.sub(r"\s", "", lesson.body))
            assert 800 <= characters <= 2000, (lesson.path, characters)
            assert 2 <= len(CASE.findall(lesson.body)) <= 5, lesson.path
            assert "<" not in lesson.body, lesson.path  # no HTML


def test_seed_demo_loads_the_course_and_a_learner_can_study_it(runner, app):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    titles = db.session.scalars(select(Program.title).order_by(Program.id)).all()
    assert titles == ["民法典学习课程", "任前宪法学习"]
    client = app.test_client()
    client.post("/login", data={"login": "leader", "password": DEMO_PASSWORD})
    home = client.get("/study/").text
    assert "民法典学习课程" in home and "任前宪法学习" in home
    module = db.session.scalars(select(Program).order_by(Program.id)).first().modules[0]
    for lesson in module.published.lessons:
        page = client.get(f"/study/modules/{module.id}/lessons/{lesson.key}")
        assert page.status_code == 200 and 'href="/laws/cite?law=' in page.text
    started = client.post(f"/study/modules/{module.id}/quiz")
    assert started.status_code == 302 and "/attempts/" in started.location
    paper = client.get(started.location.rstrip("/") + "/paper").json
    assert len(paper["items"]) == 10


@pytest.mark.skipif(
    not SHARED_LAWS.is_dir(), reason="the statute texts (../shared/laws) are absent"
)
def test_every_citation_of_the_shipped_course_is_in_the_statute_texts(app, monkeypatch):
    """With the real texts imported (as seed-demo does when LAW_TEXTS_DIR is set), every
    article, 款 and 项 a lesson's 依据 names exists (the texts stay outside the repository)."""
    monkeypatch.setenv("LAW_TEXTS_DIR", str(SHARED_LAWS))
    load_demo_bank(SYSTEM)
    assert check_course(read_course(DEMO_COURSE)) == []
