"""WTForms for the study screens: the trainers', a learner's practice settings and the
mock exam's format."""

import re
from decimal import Decimal

from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from core.forms import FiniteDecimalField, Form
from question_bank import queries
from question_bank.types import QUESTION_TYPES
from training.study.mock import MAX_MINUTES, MIN_MINUTES, PART_TYPES
from training.study.modules import (
    MAX_BODY,
    MAX_QUIZ_PER_TYPE,
    MAX_SUMMARY,
    MAX_TITLE,
    LessonData,
    ModuleData,
)

QUESTION_ID_SEPARATORS = re.compile(r"[\s,，、;；#]+")


def _none_if_zero(value: int | None) -> int | None:
    return value or None


class ModuleForm(Form):
    title = StringField(
        "模块名称", validators=[InputRequired("请填写模块名称。"), Length(max=MAX_TITLE)]
    )
    summary = TextAreaField("简介", validators=[Length(max=MAX_SUMMARY)])
    credit_hours = FiniteDecimalField(
        "学时",
        places=1,
        default=Decimal(1),
        validators=[InputRequired("请填写学时。"), NumberRange(min=0.1, max=50)],
        description="完成模块（读完全部课程并通过测验）后记入学习档案的学时。",
    )
    quiz_law_id = SelectField("测验题目所依据的法律", coerce=int)
    quiz_topic_id = SelectField("测验题目的知识点", coerce=int)
    quiz_single = IntegerField(
        "单选题数", default=0, validators=[NumberRange(0, MAX_QUIZ_PER_TYPE)]
    )
    quiz_multiple = IntegerField(
        "多选题数", default=0, validators=[NumberRange(0, MAX_QUIZ_PER_TYPE)]
    )
    quiz_true_false = IntegerField(
        "判断题数", default=0, validators=[NumberRange(0, MAX_QUIZ_PER_TYPE)]
    )
    quiz_pass_percent = IntegerField(
        "合格线（%）", default=60, validators=[NumberRange(1, 100, "合格线应为 1–100。")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quiz_law_id.choices = [(0, "不限"), *((law.id, law.name) for law in queries.laws())]
        self.quiz_topic_id.choices = [
            (0, "不限"),
            *((topic.id, topic.name) for topic in queries.topics()),
        ]

    def fill(self, data: ModuleData) -> None:
        for name, value in vars(data).items():
            getattr(self, name).data = value or (0 if name.startswith("quiz_") else value)

    def module_data(self) -> ModuleData:
        return ModuleData(
            title=self.title.data,
            summary=self.summary.data or "",
            credit_hours=self.credit_hours.data,
            quiz_law_id=_none_if_zero(self.quiz_law_id.data),
            quiz_topic_id=_none_if_zero(self.quiz_topic_id.data),
            quiz_single=self.quiz_single.data or 0,
            quiz_multiple=self.quiz_multiple.data or 0,
            quiz_true_false=self.quiz_true_false.data or 0,
            quiz_pass_percent=self.quiz_pass_percent.data,
        )


def parse_question_ids(text: str) -> list[int] | None:
    """`12, 15、#20` -> [12, 15, 20]; None when a piece is not a number."""
    pieces = [piece for piece in QUESTION_ID_SEPARATORS.split(text or "") if piece]
    if not all(piece.isdigit() and len(piece) < 10 for piece in pieces):
        return None
    return [int(piece) for piece in pieces]


class LessonForm(Form):
    title = StringField(
        "课程标题", validators=[InputRequired("请填写课程标题。"), Length(max=MAX_TITLE)]
    )
    law_refs = StringField(
        "法律依据",
        validators=[Length(max=1000)],
        description="与试题相同的写法，如：民法典（2020年）第13条、第17条；宪法（2018年修正）第27条第3款",
    )
    question_ids = StringField(
        "关联试题编号", validators=[Length(max=300)], description="题库中的试题编号，用逗号分隔"
    )
    body = TextAreaField(
        "正文（Markdown）",
        validators=[InputRequired("请填写课程正文。"), Length(max=MAX_BODY)],
        render_kw={"rows": 18},
        description="可用 ## 标题、列表、**加粗**、> 引用和表格；不支持 HTML。",
    )

    def validate_question_ids(self, field):
        if parse_question_ids(field.data) is None:
            raise ValidationError("试题编号应为数字，用逗号分隔。")

    def fill(self, data: LessonData) -> None:
        self.title.data, self.body.data, self.law_refs.data = data.title, data.body, data.law_refs
        self.question_ids.data = "、".join(str(n) for n in data.question_ids)

    def lesson_data(self) -> LessonData:
        return LessonData(
            self.title.data,
            self.body.data,
            self.law_refs.data or "",
            parse_question_ids(self.question_ids.data) or [],
        )


class ProgramForm(Form):
    title = StringField(
        "课程名称", validators=[InputRequired("请填写课程名称。"), Length(max=MAX_TITLE)]
    )
    summary = TextAreaField("简介", validators=[Length(max=MAX_SUMMARY)])


class PracticeSettingsForm(Form):
    """A learner's own practice settings."""

    retention = FiniteDecimalField(
        "期望记忆保持率",
        places=2,
        validators=[
            InputRequired("请填写期望记忆保持率。"),
            NumberRange(min=0.80, max=0.97, message="期望记忆保持率应在 0.80 到 0.97 之间。"),
        ],
        description="复习安排的目标：到复习时您仍记得这道题的把握。越高复习越频繁；默认 0.90。",
    )
    streak = IntegerField(
        "连续答对几次移出错题本",
        validators=[
            InputRequired("请填写次数。"),
            NumberRange(min=1, max=10, message="次数应为 1–10。"),
        ],
        description="默认 3 次。",
    )


class MockFormatForm(Form):
    """The mock enforcement exam's format (a system admin's): two parts, each a number of
    questions of each type at some points each, drawn by the part's topic."""

    province = StringField(
        "适用地区（省份）",
        validators=[InputRequired("请填写适用地区。"), Length(max=50)],
        description="显示在模拟考试名称和说明中，例如「某某省」。",
    )
    full_marks = FiniteDecimalField(
        "满分",
        places=2,
        validators=[InputRequired("请填写满分。"), NumberRange(min=1, max=1000)],
        description="两个部分的分值之和须等于满分。",
    )
    pass_mark = FiniteDecimalField(
        "合格分", places=2, validators=[InputRequired("请填写合格分。"), NumberRange(min=0.01)]
    )
    time_limit_minutes = IntegerField(
        "考试时长（分钟）",
        validators=[
            InputRequired("请填写考试时长。"),
            NumberRange(
                MIN_MINUTES, MAX_MINUTES, f"考试时长应为 {MIN_MINUTES}–{MAX_MINUTES} 分钟。"
            ),
        ],
    )

    #: (part number, question type) pairs, in the order the page shows them
    PARTS = (1, 2)

    def section_fields(self, part: int):
        """(type label, count field, points field) of each question type of the part."""
        return [
            (
                QUESTION_TYPES[kind],
                self[f"part{part}_{kind}_count"],
                self[f"part{part}_{kind}_points"],
            )
            for kind in PART_TYPES
        ]

    def fill(self, raw: dict) -> None:
        """Set the fields from a stored format (mock.raw_format)."""
        self.province.data = raw["province"]
        self.full_marks.data = Decimal(raw["full_marks"])
        self.pass_mark.data = Decimal(raw["pass_mark"])
        self.time_limit_minutes.data = raw["time_limit_minutes"]
        for part, stored in zip(self.PARTS, raw["parts"], strict=False):
            self[f"part{part}_name"].data = stored["name"]
            self[f"part{part}_topic"].data = stored["topic"]
            for kind, count, points in stored["sections"]:
                if kind in PART_TYPES:
                    self[f"part{part}_{kind}_count"].data = count
                    self[f"part{part}_{kind}_points"].data = Decimal(points)

    def raw(self) -> dict:
        """The format as mock.read_format reads it (types with no questions left out)."""
        parts = []
        for part in self.PARTS:
            sections = [
                [kind, count.data, str(points.data or 0)]
                for kind, count, points in (
                    (kind, self[f"part{part}_{kind}_count"], self[f"part{part}_{kind}_points"])
                    for kind in PART_TYPES
                )
                if count.data
            ]
            parts.append(
                {
                    "name": self[f"part{part}_name"].data,
                    "topic": self[f"part{part}_topic"].data,
                    "sections": sections,
                }
            )
        return {
            "province": self.province.data,
            "full_marks": str(self.full_marks.data),
            "pass_mark": str(self.pass_mark.data),
            "time_limit_minutes": self.time_limit_minutes.data,
            "parts": parts,
        }


for _part in MockFormatForm.PARTS:
    setattr(
        MockFormatForm,
        f"part{_part}_name",
        StringField(
            f"第{_part}部分名称", validators=[InputRequired("请填写部分名称。"), Length(max=50)]
        ),
    )
    setattr(
        MockFormatForm,
        f"part{_part}_topic",
        StringField(
            f"第{_part}部分抽题的知识点",
            validators=[InputRequired("请填写抽题的知识点。"), Length(max=100)],
            description="从标注了该知识点的在用试题中随机抽取。",
        ),
    )
    for _kind in PART_TYPES:
        setattr(
            MockFormatForm,
            f"part{_part}_{_kind}_count",
            IntegerField(
                "题数",
                default=0,
                validators=[Optional(), NumberRange(0, 200, "题数应为 0–200。")],
            ),
        )
        setattr(
            MockFormatForm,
            f"part{_part}_{_kind}_points",
            FiniteDecimalField(
                "每题分值",
                places=2,
                validators=[Optional(), NumberRange(0, 100, "每题分值应为 0–100 分。")],
            ),
        )
