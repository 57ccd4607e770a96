"""How the audit log shows what was recorded in and read from study records."""

from sqlalchemy import select

from core.audit import Action, Detail, Labels, ObjectKind
from core.extensions import db
from training.records.models import (
    ACTIVITY_LABELS,
    Activity,
    ActivityKind,
    Appointment,
    Certificate,
    Group,
    Requirement,
    Scorecard,
)


def activity_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Activity.id, Activity.kind, Activity.held_on, Activity.title).where(
            Activity.id.in_(ids)
        )
    )
    return {
        key: f"{ACTIVITY_LABELS[ActivityKind(kind)]} {held_on} {title}"
        for key, kind, held_on, title in rows
    }


def appointment_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Appointment.id, Appointment.post, Appointment.candidate_number).where(
            Appointment.id.in_(ids)
        )
    )
    return {key: f"拟任{post}（{number}）" for key, post, number in rows}


def requirement_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Requirement.id, Requirement.group_name, Requirement.from_year).where(
            Requirement.id.in_(ids)
        )
    )
    return {key: f"{Group(group).label} 自{year}年" for key, group, year in rows}


def certificate_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Certificate.id, Certificate.number).where(Certificate.id.in_(ids))
    )
    return {key: f"执法证 {number}" for key, number in rows}


def scorecard_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Scorecard.id, Scorecard.title).where(Scorecard.id.in_(ids)))
    return dict(rows.all())


PEOPLE = Detail("人员", refers_to="user")

LABELS = Labels(
    actions={
        "records.activity.record": Action(
            "记录学法活动", details={"users": PEOPLE, "hours": Detail("学时")}
        ),
        "records.activity.submit": "本人提交学法记录",
        "records.activity.correct": Action(
            "修改学法记录",
            details={
                "users": PEOPLE,
                "reason": Detail("原因"),
                "before": Detail("原内容"),
                "after": Detail("修改为"),
            },
        ),
        "records.activity.withdraw": Action(
            "撤销学法记录",
            details={
                "users": PEOPLE,
                "reason": Detail("原因"),
                "before": Detail("撤销前的状态"),
                "oaths": Detail("所涉任前考试登记"),
            },
        ),
        "records.activity.withdraw_own": "本人撤回学法记录",
        "records.activity.approve": Action("确认学法记录", details={"users": PEOPLE}),
        "records.activity.return": Action("退回学法记录", details={"users": PEOPLE}),
        "records.evidence.view": Action("查看他人的证明材料", details={"users": PEOPLE}),
        "records.report.view": Action("查看他人的年终述法", details={"users": PEOPLE}),
        "records.record.view": "查看他人的学法档案",
        "records.record.print": "打印他人的学法档案",
        "records.record.export": "导出他人的学法档案",
        "records.requirement.save": Action(
            "设定年度学法要求",
            details={
                "before": Detail("原要求"),
                "exam_kinds": Detail("须通过的考试"),
                "activities": Detail("活动次数"),
            },
        ),
        "records.nominee.register": Action("登记任前考试人员", details={"users": PEOPLE}),
        "records.nominee.retake": Action("安排任前考试补考", details={"users": PEOPLE}),
        "records.compliance.view": Action(
            "查看学法要求完成情况", details={"people": Detail("涉及人数")}
        ),
        "records.compliance.export": "导出学法要求完成情况",
        "records.nominee.list": Action(
            "查看任前考试人员名单", details={"people": Detail("涉及人数")}
        ),
        "records.certificate.view": Action("查看他人的行政执法证", details={"users": PEOPLE}),
        "records.certificate.export_due": "导出执法证到期与待审验清单",
        "records.certificate.issue": Action("发放行政执法证", details={"users": PEOPLE}),
        "records.certificate.renew": Action("换发行政执法证", details={"users": PEOPLE}),
        "records.certificate.review": Action("行政执法证年度审验", details={"users": PEOPLE}),
        "records.certificate.suspend": Action("暂扣行政执法证", details={"users": PEOPLE}),
        "records.certificate.restore": Action("解除暂扣行政执法证", details={"users": PEOPLE}),
        "records.certificate.revoke": Action("注销行政执法证", details={"users": PEOPLE}),
        "records.certificate.import": Action("导入行政执法证台账", details={"users": PEOPLE}),
        "records.certificate.policy": Action(
            "修改行政执法证设置",
            details={
                "validity_years": Detail("有效期（年）", pair=True),
                "renewal_months": Detail("换证窗口（月）", pair=True),
                "review_needs_exam": Detail("年审须通过考试", pair=True),
            },
        ),
        "records.scorecard.create": "建立普法考核表",
        "records.scorecard.edit": Action(
            "修改普法考核表", details={"before": Detail("原考核项目")}
        ),
        "records.scorecard.score": Action(
            "普法考核评分", details={"unit": Detail("单位", refers_to="unit")}
        ),
        "records.scorecard.export": "导出普法考核结果",
    },
    objects={
        "record_activity": ObjectKind("学法活动", names=activity_names),
        "record_appointment": ObjectKind("任前考试登记", names=appointment_names),
        "record_requirement": ObjectKind("年度学法要求", names=requirement_names),
        "record_certificate": ObjectKind("行政执法证", names=certificate_names),
        "record_scorecard": ObjectKind("普法考核表", names=scorecard_names),
    },
)
