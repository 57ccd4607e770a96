"""How the audit log shows what exam set-up, sittings, results and regrading did."""

from sqlalchemy import select

from core.audit import Action, Detail, Labels, ObjectKind, china_time_text
from core.extensions import db
from training.exams.models import Attempt, Batch, Blueprint, Exam
from training.models import User


def exam_names(ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Exam.id, Exam.title).where(Exam.id.in_(ids))).all())


def blueprint_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Blueprint.id, Blueprint.name).where(Blueprint.id.in_(ids)))
    return dict(rows.all())


def batch_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Batch.id, Exam.title, Batch.name).join(Exam).where(Batch.id.in_(ids))
    )
    return {batch_id: f"{title} / {name}" for batch_id, title, name in rows}


def attempt_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Attempt.id, User.name, User.login, Exam.title, Attempt.number)
        .join(User, User.id == Attempt.user_id)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.id.in_(ids))
    )
    return {
        attempt_id: f"{name}（{login}）{title} 第 {number} 次作答"
        for attempt_id, name, login, title, number in rows
    }


def points(value: object) -> str:
    return "（无）" if value in (None, "") else f"{value} 分"


SUBMITTED_BY = {"candidate": "考生交卷", "deadline": "到时自动交卷"}


def submitted_by(value: object) -> str:
    return SUBMITTED_BY.get(str(value), str(value) or "（无）")


EXPORT_FORMATS = {"csv": "CSV", "xlsx": "Excel（xlsx）"}
MARK_ROUNDS = {"1": "一评", "2": "二评", "3": "三评（仲裁）"}


def mark_round(value: object) -> str:
    return MARK_ROUNDS.get(str(value), str(value))


LABELS = Labels(
    actions={
        "blueprint.save": "保存组卷规则",
        "exam.save": "保存考试设置",
        "exam.publish": "发布考试",
        "exam.close": "结束考试",
        "exam.regrade": Action(
            "更正答案后重新评分",
            details={
                "attempts": Detail("重新评分答卷数"),
                "changes": Detail("成绩变化"),
                "score": Detail("成绩", pair=True),
                "passed": Detail("合格", pair=True),
            },
        ),
        "exam.markers": Action("设置阅卷人", details={"users": Detail("阅卷人", refers_to="user")}),
        "exam.mark": Action(
            "评阅简答论述题",
            details={
                "item": Detail("答卷题目编号"),
                "round": Detail("评次", format=mark_round),
                "score": Detail("得分", format=points),
            },
        ),
        "exam.mark_correct": Action(
            "更正阅卷评分",
            details={
                "item": Detail("答卷题目编号"),
                "round": Detail("评次", format=mark_round),
                "old_score": Detail("原得分", format=points),
                "score": Detail("更正后得分", format=points),
                "reason": Detail("更正原因"),
            },
        ),
        "batch.create": "新建考试场次",
        "batch.roster": "调整考试名单",
        "batch.extend": "延长个人考试时间",
        "exam.export": Action(
            "导出考试成绩",
            details={
                "format": Detail("格式", format=lambda value: EXPORT_FORMATS.get(value, value))
            },
        ),
        "exam.results": Action(
            "查看考试成绩", details={"users": Detail("显示成绩的人员", refers_to="user")}
        ),
        "attempt.view": "查看他人答卷",
        "outage.record": Action(
            "记录数据库中断",
            details={
                "started_at": Detail("开始", format=china_time_text),
                "ended_at": Detail("结束", format=china_time_text),
            },
        ),
        "attempt.outage_extend": Action(
            "因数据库中断顺延截止时间",
            details={"extended": Detail("顺延的答卷"), "seconds": Detail("顺延（秒）")},
        ),
        "attempt.reopen": Action(
            "因数据库中断重新开放答卷",
            details={
                "outage": Detail("数据库中断记录编号"),
                "minutes": Detail("重新开放（分钟）"),
                "before": Detail("重新开放前"),
                "score": Detail("成绩", format=points),
                "deadline_at": Detail("截止时间", format=china_time_text),
                "submitted_at": Detail("交卷时间", format=china_time_text),
                "submitted_by": Detail("交卷方式", format=submitted_by),
            },
        ),
    },
    objects={
        "blueprint": ObjectKind("组卷规则", names=blueprint_names),
        "exam": ObjectKind("考试", names=exam_names),
        "batch": ObjectKind("考试场次", names=batch_names),
        "attempt": ObjectKind("答卷", names=attempt_names),
        "outage": ObjectKind("数据库中断"),
    },
    details={
        "minutes": Detail("本次延长（分钟）"),
        "extra_minutes": Detail("累计延长（分钟）"),
        "past_close": Detail("可超过场次结束时间", format=lambda value: "是" if value else "否"),
        "attempt": Detail("答卷", refers_to="attempt"),
        "deadline_at": Detail("新的截止时间", format=china_time_text),
        "rows": Detail("条数"),
        "all_units": Detail("全部单位"),
        "from_versions": Detail("原版本（编号）"),
        "to_version": Detail("新版本（编号）"),
        "score_changes": Detail("成绩变化份数"),
        "pass_changes": Detail("合格情况变化人数"),
        "in_progress": Detail("作答中的答卷数"),
        "items": Detail("涉及题目数"),
        "page": Detail("页码"),
    },
)
