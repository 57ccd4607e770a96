"""WTForms for the trainers' and administrators' exam screens.

Times are typed in China time (what everyone here reads on the wall clock) and stored as
naive UTC: core.clock converts.
"""

import re
from decimal import Decimal

import wtforms
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.clock import china_time, from_china_time
from core.forms import FiniteDecimalField, Form, MultiCheckboxField, choices
from question_bank.types import QUESTION_TYPES, MultiplePolicy
from training.exams import setup
from training.exams.models import (
    CASE_SECTION,
    CASE_SECTION_LABEL,
    COUNTING_LABELS,
    EXAM_KIND_LABELS,
    ReviewPolicy,
)

MULTIPLE_POLICY_LABELS = {
    MultiplePolicy.ALL_OR_NOTHING: "全部选对才得分",
    MultiplePolicy.PARTIAL: "少选得部分分，错选不得分",
}
PAPER_MODES = {"fixed": "固定试卷：所有考生同一套题", "random": "随机试卷：每位考生单独抽题"}
DIFFICULTY_CHOICES = [("", "不限"), *((str(n), str(n)) for n in range(1, 6))]
SECTION_ROWS = 6
# 合格 60 / 良好 80 / 优秀 90, also with ， 、 ; or new lines between, and 60 合格 order.
BAND_SEPARATORS = re.compile(r"[/／,，、;；\n]+")
BAND_PATTERN = re.compile(
    r"^(?:(?P<label>[^\d\s:：]+)\s*[:：]?\s*(?P<score>\d+(?:\.\d+)?)"
    r"|(?P<score2>\d+(?:\.\d+)?)\s*分?\s*[:：]?\s*(?P<label2>[^\d\s:：]+))$"
)


class ChinaTimeField(DateTimeLocalField):
    """A date and time typed in China time; `data` stays China time until
    `clock.from_china_time()`."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        kwargs.setdefault(
            "invalid_value_message", "时间格式应为 年-月-日 时:分，如 2026-03-01 09:00"
        )
        super().__init__(label, validators, **kwargs)


def parse_grade_bands(text: str) -> list:
    """'合格 60 / 良好 80 / 优秀 90' as [[60, '合格'], [80, '良好'], [90, '优秀']]."""
    bands = []
    for part in BAND_SEPARATORS.split(text or ""):
        part = part.strip()
        if not part:
            continue
        match = BAND_PATTERN.match(part)
        if match is None:
            raise ValueError(f"「{part}」无法识别：每个等级写作「名称 分数」，如 合格 60 / 良好 80")
        score = Decimal(match["score"] or match["score2"])
        label = (match["label"] or match["label2"]).strip()
        if len(label) > 20:
            raise ValueError(f"等级名称「{label}」过长（最多 20 字）")
        bands.append([int(score) if score == score.to_integral() else float(score), label])
    thresholds = [threshold for threshold, _ in bands]
    if len(set(thresholds)) != len(thresholds):
        raise ValueError("同一分数不能对应两个等级")
    return sorted(bands)


def format_grade_bands(bands: list) -> str:
    return " / ".join(f"{label} {threshold}" for threshold, label in sorted(bands))


# --- blueprints --------------------------------------------------------------------


class SectionForm(wtforms.Form):
    """One section of a blueprint; a row without a type is left out."""

    class Meta:
        locales = ("zh",)

    question_type = SelectField(
        "题型",
        choices=choices(
            [("", "（不使用）"), *QUESTION_TYPES.items(), (CASE_SECTION, CASE_SECTION_LABEL)]
        ),
        default="",
    )
    count = IntegerField(
        "题数", validators=[Optional(), NumberRange(1, setup.MAX_SECTION_COUNT, "题数应为 1–500")]
    )
    points = FiniteDecimalField(
        "每题分值",
        places=2,
        validators=[Optional(), NumberRange(Decimal("0.01"), 100, "每题分值应为 0.01–100")],
    )
    # Unknown ids are left to the service, which names the section.
    law_id = SelectField("法律", coerce=int, validate_choice=False, default=0)
    topic_id = SelectField("知识点", coerce=int, validate_choice=False, default=0)
    difficulty_min = SelectField("最低难度", choices=choices(DIFFICULTY_CHOICES), default="")
    difficulty_max = SelectField("最高难度", choices=choices(DIFFICULTY_CHOICES), default="")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Optional() ends a field's checks when it is empty, so a used row's required
        # numbers are checked here.
        if self.question_type.data:
            for field, message in ((self.count, "请填写题数"), (self.points, "请填写每题分值")):
                if field.data is None and not field.errors:
                    field.errors.append(message)
                    valid = False
        return valid

    def section_data(self) -> setup.SectionData:
        return setup.SectionData(
            question_type=self.question_type.data,
            count=self.count.data,
            points=self.points.data,
            law_id=self.law_id.data or None,
            topic_id=self.topic_id.data or None,
            difficulty_min=int(self.difficulty_min.data) if self.difficulty_min.data else None,
            difficulty_max=int(self.difficulty_max.data) if self.difficulty_max.data else None,
        )


class BlueprintForm(Form):
    name = StringField("规则名称", validators=[DataRequired("请填写规则名称"), Length(max=100)])
    paper_mode = SelectField("组卷方式", choices=choices(PAPER_MODES.items()))
    shuffle_questions = BooleanField("打乱题目顺序（每位考生顺序不同）")
    shuffle_choices = BooleanField("打乱选项顺序（单选、多选）")
    shuffle_within_case = BooleanField("打乱案例内小题的顺序（小题仍紧随其材料）")
    sections = FieldList(FormField(SectionForm), min_entries=SECTION_ROWS, max_entries=30)

    def set_choices(self, laws, topics) -> None:
        law_choices = choices([(0, "不限"), *laws])
        topic_choices = choices([(0, "不限"), *topics])
        for entry in self.sections:
            entry.form.law_id.choices = law_choices
            entry.form.topic_id.choices = topic_choices

    def fill(self, data: setup.BlueprintData) -> None:
        self.name.data = data.name
        self.paper_mode.data = "random" if data.random_per_candidate else "fixed"
        self.shuffle_questions.data = data.shuffle_questions
        self.shuffle_choices.data = data.shuffle_choices
        self.shuffle_within_case.data = data.shuffle_within_case
        while len(self.sections) < max(SECTION_ROWS, len(data.sections) + 2):
            self.sections.append_entry()
        for entry, section in zip(self.sections, data.sections, strict=False):
            entry.form.process(
                None,
                data={
                    "question_type": section.question_type,
                    "count": section.count,
                    "points": section.points,
                    "law_id": section.law_id or 0,
                    "topic_id": section.topic_id or 0,
                    "difficulty_min": str(section.difficulty_min or ""),
                    "difficulty_max": str(section.difficulty_max or ""),
                },
            )

    def validate_sections(self, field):
        if not any(entry.form.question_type.data for entry in field):
            raise wtforms.ValidationError("至少设置一个部分（选择题型、题数和分值）")

    def blueprint_data(self) -> setup.BlueprintData:
        return setup.BlueprintData(
            name=self.name.data,
            sections=[
                entry.form.section_data() for entry in self.sections if entry.question_type.data
            ],
            random_per_candidate=self.paper_mode.data == "random",
            shuffle_questions=self.shuffle_questions.data,
            shuffle_choices=self.shuffle_choices.data,
            shuffle_within_case=self.shuffle_within_case.data,
        )


# --- exams -------------------------------------------------------------------------


class ExamForm(Form):
    title = StringField("考试名称", validators=[DataRequired("请填写考试名称"), Length(max=200)])
    kind = SelectField("考试类别", choices=choices(EXAM_KIND_LABELS.items()))
    blueprint_id = SelectField(
        "组卷规则",
        coerce=int,
        validators=[DataRequired("请选择组卷规则；没有可选项时请先新建组卷规则")],
    )
    time_limit_minutes = IntegerField(
        "考试时长（分钟）",
        default=60,
        validators=[
            InputRequired("请填写考试时长"),
            NumberRange(1, 600, "考试时长应为 1–600 分钟"),
        ],
    )
    pass_mark = FiniteDecimalField(
        "合格分",
        places=2,
        default=Decimal(60),
        validators=[
            InputRequired("请填写合格分"),
            NumberRange(Decimal("0.01"), None, "合格分应大于 0"),
        ],
    )
    grade_bands = StringField(
        "成绩等级",
        default="合格 60 / 良好 80 / 优秀 90",
        description="每个等级写作「名称 分数」，用 / 分隔；低于合格分为「不合格」。可留空。",
        validators=[Optional(), Length(max=300)],
    )
    attempts_allowed = IntegerField(
        "可参加次数",
        default=1,
        validators=[InputRequired("请填写可参加次数"), NumberRange(1, 20, "可参加次数应为 1–20")],
    )
    counting = SelectField("多次参加时计分", choices=choices(COUNTING_LABELS.items()))
    one_attempt_per_batch = BooleanField("每个场次限考一次（补考须在后续场次进行）")
    retake_after_pass = BooleanField("通过后仍可再考（适用于模拟考试、答题活动）")
    opens_at = ChinaTimeField("开放时间（北京时间）", validators=[InputRequired("请填写开放时间")])
    closes_at = ChinaTimeField("结束时间（北京时间）", validators=[InputRequired("请填写结束时间")])
    review_policy = SelectField(
        "交卷后可查看",
        choices=choices((policy.value, policy.label) for policy in ReviewPolicy),
        default=ReviewPolicy.SCORE.value,
    )
    multiple_policy = SelectField("多选题计分", choices=choices(MULTIPLE_POLICY_LABELS.items()))
    instructions = TextAreaField(
        "考试须知", validators=[Optional(), Length(max=2000)], render_kw={"rows": 4}
    )
    double_marking = BooleanField("简答、论述题双评（两位阅卷人各评一次）")
    marking_gap = FiniteDecimalField(
        "双评分差",
        places=2,
        validators=[Optional(), NumberRange(Decimal(0), 100, "双评分差应为 0–100 分")],
        description="两位阅卷人的分数相差超过此分值时，由第三位阅卷人评定；不填则取两者平均分。",
    )

    def validate_grade_bands(self, field):
        try:
            self.parsed_bands = parse_grade_bands(field.data)
        except ValueError as error:
            raise wtforms.ValidationError(str(error)) from error

    def fill(self, data: setup.ExamData) -> None:
        for name in setup.EXAM_FIELDS:
            getattr(self, name).data = getattr(data, name)
        self.grade_bands.data = format_grade_bands(data.grade_bands)
        self.opens_at.data = china_time(data.opens_at)
        self.closes_at.data = china_time(data.closes_at)

    def exam_data(self) -> setup.ExamData:
        return setup.ExamData(
            title=self.title.data,
            kind=self.kind.data,
            blueprint_id=self.blueprint_id.data,
            time_limit_minutes=self.time_limit_minutes.data,
            pass_mark=self.pass_mark.data,
            opens_at=from_china_time(self.opens_at.data),
            closes_at=from_china_time(self.closes_at.data),
            grade_bands=getattr(self, "parsed_bands", None)
            or parse_grade_bands(self.grade_bands.data),
            attempts_allowed=self.attempts_allowed.data,
            counting=self.counting.data,
            one_attempt_per_batch=self.one_attempt_per_batch.data,
            retake_after_pass=self.retake_after_pass.data,
            review_policy=self.review_policy.data,
            multiple_policy=self.multiple_policy.data,
            instructions=self.instructions.data or "",
            double_marking=self.double_marking.data,
            marking_gap=self.marking_gap.data if self.double_marking.data else None,
        )


# --- batches -----------------------------------------------------------------------


class BatchForm(Form):
    name = StringField(
        "场次名称",
        validators=[DataRequired("请填写场次名称"), Length(max=100)],
        description="如：第一批（3月5日上午）",
    )
    opens_at = ChinaTimeField("开始时间（北京时间）", validators=[InputRequired("请填写开始时间")])
    closes_at = ChinaTimeField("结束时间（北京时间）", validators=[InputRequired("请填写结束时间")])


class AddUnitForm(Form):
    unit_id = SelectField("单位（含下级单位）", coerce=int)


class AddPeopleForm(Form):
    user_ids = MultiCheckboxField("人员", coerce=int, validate_choice=False)

    def validate_user_ids(self, field):
        if not field.data:
            raise wtforms.ValidationError("请勾选要加入名单的人员")


class PeopleSearchForm(Form):
    class Meta:
        csrf = False

    q = StringField("姓名或账号", validators=[Optional(), Length(max=64)])
    unit_id = SelectField("单位", coerce=int, validators=[Optional()])


class ExtendForm(Form):
    minutes = IntegerField(
        "延长（分钟）",
        validators=[
            InputRequired("请填写延长的分钟数"),
            # The total allowed is EXTENSION_MAX_MINUTES, checked by sittings.extend_time.
            NumberRange(min=1, message="延长时间应为正整数分钟"),
        ],
    )


class BoardFilterForm(Form):
    """Which people the live board lists (GET, so the page can be bookmarked)."""

    class Meta:
        csrf = False

    state = SelectField("状态", default="")
    unit_id = SelectField("单位（含下级）", coerce=int, default=0)
    q = StringField("姓名或账号", validators=[Optional(), Length(max=64)])


class BoardExtendForm(ExtendForm):
    """The board's one extension form: the person is chosen, not a row's own form."""

    member_id = IntegerField("考生", validators=[InputRequired("请选择要延长时间的考生")])


class ReopenForm(Form):
    minutes = IntegerField(
        "重新开放（分钟）",
        validators=[
            InputRequired("请填写重新开放的分钟数"),
            NumberRange(1, 60, "重新开放的时间应为 1–60 分钟"),
        ],
    )


# --- marking -----------------------------------------------------------------------


class MarkForm(Form):
    """One mark: the marking points ticked, the score (within the item's points), a note.
    `round` is the round the form was shown for, so a mark given meanwhile is not
    overwritten."""

    round = HiddenField()
    checked = MultiCheckboxField("得分要点", coerce=int, validate_choice=False)
    score = StringField("得分", validators=[DataRequired("请填写得分")])
    note = TextAreaField("评语（可选）", validators=[Optional(), Length(max=500)])


class CorrectMarkForm(Form):
    checked = MultiCheckboxField("得分要点", coerce=int, validate_choice=False)
    score = StringField("更正后得分", validators=[DataRequired("请填写得分")])
    reason = StringField("更正原因", validators=[DataRequired("请填写更正原因"), Length(max=200)])


class MarkersForm(Form):
    logins = TextAreaField(
        "阅卷人账号",
        validators=[Optional(), Length(max=4000)],
        description="每行一个账号（或用逗号分隔）。培训出题人员均可阅卷，无需列出。",
        render_kw={"rows": 3},
    )
