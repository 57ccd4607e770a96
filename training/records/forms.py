"""WTForms for recording activities, reviewing them and the yearly requirements."""

from decimal import Decimal

from flask_wtf.file import FileAllowed, FileField, FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from core.forms import ChineseDateField, FiniteDecimalField, Form, MultiCheckboxField, choices
from core.uploads import base_name
from training.exams.models import ExamKind
from training.records.activities import (
    ADMIN_KINDS,
    LAW_DAYS,
    MAX_HOURS,
    SELF_KINDS,
    ActivityData,
    Upload,
)
from training.records.models import ActivityKind, Group
from training.records.requirements import RequirementData


class _ActivityFields(Form):
    held_on = ChineseDateField("日期", validators=[InputRequired("请填写日期。")])
    title = StringField(
        "名称",
        validators=[InputRequired("请填写名称。"), Length(max=200)],
        description="会议名称、讲座名称、活动名称或述法报告标题",
    )
    topic = StringField("主题", validators=[Length(max=200)])
    laws_studied = StringField(
        "所学法律法规", validators=[Length(max=500)], description="如：《中华人民共和国行政复议法》"
    )
    presenter = StringField("主讲人／监誓人", validators=[Length(max=100)])
    place = StringField("地点／法院", validators=[Length(max=200)])
    case_type = StringField("案件类型（旁听庭审）", validators=[Length(max=100)])
    law_day = StringField(
        "普法节点（普法活动）",
        validators=[Length(max=20)],
        description="如 " + "、".join(LAW_DAYS),
    )
    credit_hours = FiniteDecimalField(
        "学时",
        places=1,
        default=Decimal(2),
        validators=[InputRequired("请填写学时。"), NumberRange(min=0, max=float(MAX_HOURS))],
    )
    evidence = MultipleFileField(
        "证明材料（照片、扫描件或 PDF，每个不超过 5 MB）",
        render_kw={"accept": ".jpg,.jpeg,.png,.pdf"},
    )

    def activity_data(self) -> ActivityData:
        uploads = []
        for storage in self.evidence.data or []:
            if storage and storage.filename:
                uploads.append(Upload(base_name(storage.filename), storage.read()))
                storage.close()  # a large part is spooled to a temporary file
        return ActivityData(
            kind=self.kind.data,
            held_on=self.held_on.data,
            title=self.title.data or "",
            credit_hours=self.credit_hours.data,
            topic=self.topic.data or "",
            laws_studied=self.laws_studied.data or "",
            presenter=self.presenter.data or "",
            place=self.place.data or "",
            case_type=self.case_type.data or "",
            law_day=self.law_day.data or "",
            report_text=(getattr(self, "report_text", None) and self.report_text.data) or "",
            uploads=uploads,
        )


class ActivityForm(_ActivityFields):
    """An admin records an activity of their units with its attendees."""

    kind = SelectField(
        "活动类型", choices=choices((kind.value, kind.label) for kind in ADMIN_KINDS)
    )
    unit_id = SelectField("举办单位", coerce=int)
    attendees = MultiCheckboxField("参加人员", coerce=int, validate_choice=False)


class OwnActivityForm(_ActivityFields):
    """A person submits an activity of their own, with evidence, for review."""

    kind = SelectField("活动类型", choices=choices((kind.value, kind.label) for kind in SELF_KINDS))
    report_text = TextAreaField(
        "述法报告正文（年终述法）",
        validators=[Length(max=20000)],
        description="也可以上传报告文件（PDF 或扫描件）代替。",
    )


class CorrectionForm(_ActivityFields):
    """An admin corrects an activity's details, saying why."""

    kind = HiddenField()
    reason = StringField(
        "修改原因", validators=[InputRequired("请填写修改原因。"), Length(max=500)]
    )


class WithdrawForm(Form):
    reason = StringField("撤销原因", validators=[Optional(), Length(max=500)])


class ReviewForm(Form):
    remark = StringField(
        "审核意见", validators=[Optional(), Length(max=500)], description="退回时必须填写原因"
    )
    decision = SelectField("结果", choices=choices([("approve", "确认"), ("return", "退回")]))


class RosterFilterForm(Form):
    class Meta:
        csrf = False

    q = StringField("姓名或账号", validators=[Optional(), Length(max=64)])
    unit = SelectField("单位", coerce=int, validators=[Optional()])


class RequirementForm(Form):
    group = SelectField("适用人员", choices=choices((group.value, group.label) for group in Group))
    from_year = IntegerField("自哪一年起", validators=[InputRequired("请填写起始年度。")])
    hours = FiniteDecimalField(
        "每年学时", places=1, validators=[InputRequired("请填写学时。"), NumberRange(0, 500)]
    )
    exam_kinds = MultiCheckboxField(
        "每年须通过的考试",
        choices=choices(
            (kind.value, kind.label) for kind in (ExamKind.ANNUAL, ExamKind.ENFORCEMENT)
        ),
    )
    source = StringField(
        "依据或来源",
        validators=[Length(max=500)],
        description="写明这些数字来自哪份文件，如本地学法制度的文号。",
    )

    def requirement_data(self) -> RequirementData:
        return RequirementData(
            group=self.group.data,
            from_year=self.from_year.data,
            hours=self.hours.data,
            exam_kinds=list(self.exam_kinds.data or []),
            activities={
                kind.value: getattr(self, f"count_{kind.value}").data or 0 for kind in COUNTED_KINDS
            },
            source=self.source.data or "",
        )


#: activities a requirement may ask a number of
COUNTED_KINDS = (
    ActivityKind.PRE_MEETING,
    ActivityKind.COURT_HEARING,
    ActivityKind.LECTURE,
    ActivityKind.LAW_DAY,
    ActivityKind.YEAR_END_REPORT,
)
for _kind in COUNTED_KINDS:
    setattr(
        RequirementForm,
        f"count_{_kind.value}",
        IntegerField(
            f"{_kind.label}（次/年）",
            default=0,
            validators=[Optional(), NumberRange(0, 100, "次数应在 0–100 之间。")],
        ),
    )


class NomineeForm(Form):
    #: chosen from the scoped people search on the page (activities.roster)
    user_id = IntegerField("拟任人员", validators=[InputRequired("请选择拟任人员。")])
    post = StringField("拟任职务", validators=[InputRequired("请填写拟任职务。"), Length(max=100)])
    batch_id = SelectField("考试场次", coerce=int)


class RetakeForm(Form):
    batch_id = SelectField("补考场次", coerce=int)


class CertificateForm(Form):
    login = StringField("持证人账号", validators=[InputRequired("请填写账号。"), Length(max=64)])
    number = StringField("证号", validators=[InputRequired("请填写证号。"), Length(max=40)])
    field = StringField("执法领域", validators=[InputRequired("请填写执法领域。"), Length(max=100)])
    authority = StringField(
        "发证机关", validators=[InputRequired("请填写发证机关。"), Length(max=100)]
    )
    issued_on = ChineseDateField("发证日期", validators=[InputRequired("请填写发证日期。")])


class RenewForm(Form):
    number = StringField("新证号", validators=[InputRequired("请填写新证号。"), Length(max=40)])


class CertificateReviewForm(Form):
    year = IntegerField("审验年度", validators=[InputRequired("请填写年度。")])
    remark = StringField("备注", validators=[Optional(), Length(max=500)])


class ReasonForm(Form):
    reason = StringField("原因", validators=[Optional(), Length(max=500)])


class CertificatePolicyForm(Form):
    validity_years = IntegerField(
        "有效期（年）", validators=[InputRequired("请填写有效期。"), NumberRange(1, 10)]
    )
    renewal_months = IntegerField(
        "换证窗口（到期前几个月）",
        validators=[InputRequired("请填写换证窗口。"), NumberRange(1, 24)],
    )
    review_needs_exam = BooleanField("年度审验还须当年通过执法证考试或年度学法考试")


class ImportForm(Form):
    file = FileField(
        "执法证台账（.xlsx）",
        validators=[FileRequired("请选择文件"), FileAllowed(["xlsx"], "只支持 .xlsx 文件")],
    )


class ComplianceFilterForm(Form):
    class Meta:
        csrf = False

    unit = SelectField("单位（含下级单位）", coerce=int, validators=[Optional()])
    year = IntegerField("年度", validators=[Optional(), NumberRange(2000, 2100)])


class ScorecardForm(Form):
    title = StringField("名称", validators=[InputRequired("请填写名称。"), Length(max=200)])
    year = IntegerField("年度", validators=[InputRequired("请填写年度。"), NumberRange(2000, 2100)])
    criteria = TextAreaField(
        "考核项目",
        validators=[InputRequired("请填写考核项目。"), Length(max=20000)],
        description="每行一项：名称|分值|是否加分项（是/否）|佐证材料|自动指标（可不填）",
    )
