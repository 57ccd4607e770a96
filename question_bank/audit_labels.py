"""How the audit log shows what happened to questions and laws."""

from sqlalchemy import select

from core.audit import Action, Detail, Labels, ObjectKind
from core.extensions import db
from question_bank import formats
from question_bank.models import (
    Case,
    Law,
    Question,
    QuestionStatus,
    QuestionVersion,
    Topic,
    is_current_version,
)
from question_bank.search import ANY_STATUS
from question_bank.types import QUESTION_TYPES

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


def case_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Case.id, Case.title).where(Case.id.in_(ids)))
    return {case_id: f"#{case_id}「{title[:STEM_SHOWN]}」" for case_id, title in rows}


def law_names(ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Law.id, Law.name).where(Law.id.in_(ids))).all())


def topic_names(ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Topic.id, Topic.name).where(Topic.id.in_(ids))).all())


def format_label(value: object) -> str:
    spec = formats.FORMATS.get(str(value))
    return spec.label if spec else str(value)


FORMAT = Detail("格式", format=format_label)
STATUSES = {status.value: status.label for status in QuestionStatus} | {
    ANY_STATUS: "全部（含已停用）"
}

#: the list's filters, as an export records them
FILTERS = {
    "filters": Detail("筛选条件"),
    "keyword": Detail("关键词"),
    "law_id": Detail("法律", refers_to="law"),
    "topic_id": Detail("知识点", refers_to="topic"),
    "type": Detail("题型", format=lambda value: QUESTION_TYPES.get(str(value), str(value))),
    "difficulty": Detail("难度"),
    "status": Detail("状态", format=lambda value: STATUSES.get(str(value), str(value))),
    "missing_citation": Detail("仅缺少法律依据的试题"),
}

LABELS = Labels(
    actions={
        "question.create": "新建试题",
        "question.edit": "修改试题",
        "question.retire": "停用试题",
        "question.restore": "恢复试题",
        "question.confirm": "复核确认",
        "question.import": Action(
            "导入试题",
            details={"format": FORMAT, "cases": Detail("导入的案例", refers_to="case")},
        ),
        "question.export": Action(
            "导出题库（含答案）",
            details=FILTERS
            | {
                "format": FORMAT,
                "skipped": Detail("格式无法表示而未导出的试题或案例数"),
                "cases": Detail("其中的案例数"),
            },
        ),
        "question.tag": "批量添加知识点",
        "case.create": "新建案例",
        "case.edit": "修改案例",
        "case.retire": "停用案例",
        "case.restore": "恢复案例",
        "law.create": "登记法律",
        "law.revise": "登记法律修订",
        "law.import": Action(
            "导入法律文本",
            details={
                "file": Detail("文件"),
                "version_label": Detail("版本"),
                "articles": Detail("条文数"),
                "amendment_articles": Detail("修正案条文数"),
                "changes": Detail("条文变化"),
                "flagged": Detail("待复核试题数"),
                "moved_questions": Detail("随新版本改引的试题", refers_to="question"),
            },
        ),
    },
    objects={
        "question": ObjectKind("试题", names=question_names),
        "case": ObjectKind("案例", names=case_names),
        "law": ObjectKind("法律", names=law_names),
        "topic": ObjectKind("知识点", names=topic_names),
    },
    details={
        "version": Detail("版本"),
        "changed": Detail("改动"),
        "questions": Detail("试题", refers_to="question"),
        "question": Detail("试题", refers_to="question"),
        "created": Detail("新增试题数"),
        "skipped_duplicates": Detail("跳过的重复试题数"),
        "skipped_invalid": Detail("跳过的有错误的行数"),
        "registered_laws": Detail("新登记的法律"),
        "include_retired": Detail("包括已停用的试题"),
        "exported": Detail("导出试题数"),
    },
)
