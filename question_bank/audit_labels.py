"""How the audit log shows what happened to questions and laws."""

from sqlalchemy import select

from core.audit import Action, Detail, Labels, ObjectKind
from core.extensions import db
from question_bank import formats
from question_bank.models import Law, Question, QuestionVersion, is_current_version

STEM_SHOWN = 30


def question_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Question.id, QuestionVersion.stem)
        .join(QuestionVersion, is_current_version())
        .where(Question.id.in_(ids))
    )
    return {
        question_id: f"#{question_id}「{stem[:STEM_SHOWN]}{'…' if len(stem) > STEM_SHOWN else ''}」"
        for question_id, stem in rows
    }


def law_names(ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Law.id, Law.name).where(Law.id.in_(ids))).all())


def format_label(value: object) -> str:
    spec = formats.FORMATS.get(str(value))
    return spec.label if spec else str(value)


FORMAT = Detail("格式", format=format_label)

LABELS = Labels(
    actions={
        "question.create": "新建试题",
        "question.edit": "修改试题",
        "question.retire": "停用试题",
        "question.restore": "恢复试题",
        "question.confirm": "复核确认",
        "question.import": Action("导入试题", details={"format": FORMAT}),
        "question.export": Action("导出题库（含答案）", details={"format": FORMAT}),
        "question.tag": "批量添加知识点",
        "law.create": "登记法律",
        "law.revise": "登记法律修订",
    },
    objects={
        "question": ObjectKind("试题", names=question_names),
        "law": ObjectKind("法律", names=law_names),
    },
    details={
        "version": Detail("版本"),
        "changed": Detail("改动"),
        "questions": Detail("试题", refers_to="question"),
        "question": Detail("试题", refers_to="question"),
        "created": Detail("新增试题数"),
        "skipped_duplicates": Detail("跳过的重复试题数"),
        "registered_laws": Detail("新登记的法律"),
        "include_retired": Detail("包括已停用的试题"),
        "exported": Detail("导出试题数"),
    },
)
