"""The demo course: programs of modules of Markdown lessons, read from a folder
(training/study/demo_course/, written for this project) and created through the same
functions a trainer's pages use.

Layout (see its README.md): one folder per program (`民法典`, `宪法`), in it one folder per
module numbered in course order (`01-总则`) holding `module.md` (`# title`, then a
summary) and one file per lesson (`01-民事主体.md`): a front matter with `title:` and
`依据:` (the bank's 法律依据 notation), then the Markdown body.

Every lesson's 依据 must parse and name articles that exist in the law registry, and in
the imported statute text where there is one; a module's quiz draws its book's questions
of the demo bank by topic (民法典: the 编 the bank tags every question with).
"""

import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from core import clock
from core.audit import Actor
from core.errors import ServiceError
from question_bank import queries
from training.study import modules
from training.study.models import Program

DEMO_COURSE = Path(__file__).parent / "demo_course"

#: folder: (program title, summary, credit hours of each module, law of its quiz)
PROGRAMS = {
    "民法典": (
        "民法典学习课程",
        "按民法典七编分为七个模块，讲解基层政府和部门工作中常遇到的民事规则，每课配有案例；"
        "每个模块读完全部课程并通过模块测验后计入学时。",
        Decimal(2),
        "民法典",
    ),
    "宪法": (
        "任前宪法学习",
        "供新任职干部任前学习：宪法的地位和基本原则、国家机构、宪法宣誓制度。",
        Decimal(1),
        "宪法",
    ),
}
#: the quiz of every demo module: 5 单选, 2 多选, 3 判断, 60% to pass
QUIZ = {"quiz_single": 5, "quiz_multiple": 2, "quiz_true_false": 3, "quiz_pass_percent": 60}


class DemoCourseError(RuntimeError):
    """The demo course does not load cleanly: a bug in the shipped content."""


@dataclass
class LessonFile:
    path: Path
    title: str
    law_refs: str
    body: str


@dataclass
class ModuleFolder:
    path: Path
    title: str
    summary: str
    #: the 知识点 its quiz draws (None: the whole law)
    topic: str | None
    lessons: list[LessonFile] = field(default_factory=list)


def _front_matter(path: Path) -> tuple[dict[str, str], str]:
    text = path.read_text(encoding="utf-8").lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in [x.strip() for x in lines[1:]]:
        raise DemoCourseError(f"{path}: 缺少以 --- 包围的文件头（title、依据）")
    end = 1 + [x.strip() for x in lines[1:]].index("---")
    head = {}
    for line in lines[1:end]:
        name, _, value = line.partition(":")
        head[name.strip()] = value.strip()
    return head, "\n".join(lines[end + 1 :]).strip()


def _quiz_topic(program: str, module_folder: str) -> str | None:
    """民法典 modules draw the questions of their 编 (the folder `01-总则` -> 总则编)."""
    if program != "民法典":
        return None
    return module_folder.split("-", 1)[1] + "编"


def read_course(folder: Path) -> dict[str, list[ModuleFolder]]:
    """Every program's modules and lessons as written, or DemoCourseError naming the file."""
    course = {}
    for program in PROGRAMS:
        modules_found = []
        for path in sorted(p for p in (folder / program).glob("*") if p.is_dir()):
            summary_file = path / "module.md"
            if not summary_file.is_file():
                raise DemoCourseError(f"{path}: 缺少 module.md")
            first, _, rest = summary_file.read_text(encoding="utf-8").strip().partition("\n")
            module = ModuleFolder(
                path, first.lstrip("#").strip(), rest.strip(), _quiz_topic(program, path.name)
            )
            for lesson_path in sorted(path.glob("[0-9]*.md")):
                head, body = _front_matter(lesson_path)
                module.lessons.append(
                    LessonFile(lesson_path, head.get("title", ""), head.get("依据", ""), body)
                )
            modules_found.append(module)
        if modules_found:
            course[program] = modules_found
    return course


def check_course(course: dict[str, list[ModuleFolder]]) -> list[str]:
    """What is wrong with the course against the bank and law library now loaded: each
    lesson's title, body and 依据 (parsed, registered, present in the imported text), each
    module's quiz topic."""
    problems = []
    for program, found in course.items():
        law = PROGRAMS[program][3]
        if queries.law_id(law) is None:
            problems.append(f"{program}: 法律库中没有「{law}」")
        for module in found:
            if not module.title or not module.lessons:
                problems.append(f"{module.path}: 缺少模块标题或课程")
            if module.topic and queries.topic_id(module.topic) is None:
                problems.append(f"{module.path}: 题库中没有知识点「{module.topic}」")
            for lesson in module.lessons:
                data = modules.LessonData(lesson.title, lesson.body, lesson.law_refs)
                _, errors = modules.check_lesson_data(data)
                if not lesson.law_refs.strip():
                    errors["law_refs"] = "缺少依据"
                problems.extend(f"{lesson.path}: {message}" for message in errors.values())
    return problems


def load_demo_course(actor: Actor, folder: Path = DEMO_COURSE) -> list[Program]:
    """Create and publish the course's programs (with their modules and quizzes); nothing
    when the folder holds no course. Raises DemoCourseError listing every problem."""
    course = read_course(folder)
    if problems := check_course(course):
        raise DemoCourseError("；".join(problems[:20]))
    programs = []
    rng = random.Random(2026)
    try:
        for program_folder, found in course.items():
            title, summary, hours, law = PROGRAMS[program_folder]
            module_ids = []
            for module_folder in found:
                module = modules.create_module(
                    actor,
                    modules.ModuleData(
                        title=module_folder.title,
                        summary=module_folder.summary,
                        credit_hours=hours,
                        quiz_law_id=queries.law_id(law),
                        quiz_topic_id=(
                            queries.topic_id(module_folder.topic) if module_folder.topic else None
                        ),
                        **QUIZ,
                    ),
                )
                for lesson in module_folder.lessons:
                    modules.save_lesson(
                        actor,
                        module,
                        modules.LessonData(lesson.title, lesson.body, lesson.law_refs),
                    )
                modules.publish_module(actor, module, clock.now(), rng)
                module_ids.append(module.id)
            program = modules.save_program(actor, modules.ProgramData(title, summary, module_ids))
            modules.publish_program(actor, program)
            programs.append(program)
    except ServiceError as error:
        raise DemoCourseError(error.message) from error
    return programs
