"""How the audit log shows what trainers did to study modules and programs, and a system
admin to the mock exam's format."""

from sqlalchemy import select

from core.audit import Detail, Labels, ObjectKind
from core.extensions import db
from training.study.models import ModuleVersion, Program, StudyModule


def module_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(StudyModule.id, ModuleVersion.title)
        .join(ModuleVersion, ModuleVersion.module_id == StudyModule.id)
        .where(StudyModule.id.in_(ids), ModuleVersion.number == StudyModule.current_number)
    )
    return dict(rows.all())


def program_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Program.id, Program.title).where(Program.id.in_(ids)))
    return dict(rows.all())


LABELS = Labels(
    actions={
        "study.module.save": "保存学习模块（新版本）",
        "study.module.publish": "发布学习模块",
        "study.module.retire": "停用学习模块",
        "study.program.save": "保存学习课程",
        "study.program.publish": "发布学习课程",
        "study.program.retire": "停用学习课程",
        "study.lesson.review_flag": "法律修订：课程待复核",
        "study.lesson.review_confirm": "确认课程复核（依据改引新版本）",
        "study.lesson.review_publish": "发布修改后的课程，结束复核",
        "practice.mock_format.save": "修改并发布执法证模拟考试格式",
    },
    objects={
        "study_module": ObjectKind("学习模块", names=module_names),
        "study_program": ObjectKind("学习课程", names=program_names),
    },
    details={
        "version": Detail("版本"),
        "lessons": Detail("课程数"),
        "lesson_key": Detail("课程编号"),
        "modules": Detail("模块", refers_to="study_module"),
        "format": Detail("模拟考试格式", pair=True),
    },
)
