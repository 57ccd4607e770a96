"""WTForms for the trainers' question bank screens."""

import re

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.forms import ChineseDateField, Form, MultiCheckboxField, choices
from question_bank import formats
from question_bank.drafts import (
    QuestionDraft,
    format_law_refs,
    parse_law_refs,
    parse_marking_points,
)
from question_bank.formats.template import split_topics
from question_bank.models import QuestionStatus
from question_bank.search import ANY_STATUS, NOT_RETIRED, QuestionFilters
from question_bank.types import (
    DEFAULT_WRITTEN_CHARS,
    LETTERS,
    MAX_WRITTEN_CHARS,
    QUESTION_TYPES,
    TRUE_FALSE_CHOICES,
    TYPES,
    letter,
)

DIFFICULTIES = [("1", "1（最易）"), ("2", "2"), ("3", "3（中等）"), ("4", "4"), ("5", "5（最难）")]
IMPORT_EXTENSIONS = ["xlsx", "csv", "gift", "txt", "aiken", "xml", "docx", "doc"]


# --- list --------------------------------------------------------------------------


class QuestionFilterForm(Form):
    """The list's filters, read from the query string (also used by the export)."""

    class Meta:
        csrf = False

    q = StringField("关键词", validators=[Optional(), Length(max=100)])
    law_id = SelectField("法律", coerce=int, validators=[Optional()])
    topic_id = SelectField("知识点", coerce=int, validators=[Optional()])
    type = SelectField(
        "题型",
        choices=choices([("", "全部题型"), *QUESTION_TYPES.items()]),
        validators=[Optional()],
    )
    difficulty = SelectField(
        "难度", choices=choices([("", "全部难度"), *DIFFICULTIES]), validators=[Optional()]
    )
    status = SelectField(
        "状态",
        choices=choices(
            [
                (NOT_RETIRED, "在用和待复核"),
                *((status.value, status.label) for status in QuestionStatus),
                (ANY_STATUS, "全部（含已停用）"),
            ]
        ),
        validators=[Optional()],
    )
    missing_citation = BooleanField("缺少法律依据")

    def filters(self) -> QuestionFilters:
        """The filters as given; the defaults when the query string is not valid."""
        if not self.validate():
            return QuestionFilters()
        return QuestionFilters(
            keyword=self.q.data or "",
            law_id=self.law_id.data or None,
            topic_id=self.topic_id.data or None,
            type=self.type.data or "",
            difficulty=int(self.difficulty.data) if self.difficulty.data else None,
            status=self.status.data or NOT_RETIRED,
            missing_citation=self.missing_citation.data,
        )


class BulkTagForm(Form):
    topic = StringField(
        "知识点",
        validators=[DataRequired("请填写知识点"), Length(max=50, message="知识点最多50字")],
    )
    question_ids = MultiCheckboxField("试题", coerce=int, validate_choice=False)


# --- one question ------------------------------------------------------------------


class QuestionForm(Form):
    """New and edit: the draft's fields as a trainer types them."""

    type = SelectField("题型", choices=choices(QUESTION_TYPES.items()))
    stem = TextAreaField("题干", render_kw={"rows": 4})
    choice_a = StringField("选项A")
    choice_b = StringField("选项B")
    choice_c = StringField("选项C")
    choice_d = StringField("选项D")
    choice_e = StringField("选项E")
    choice_f = StringField("选项F")
    choice_g = StringField("选项G")
    choice_h = StringField("选项H")
    answer = MultiCheckboxField(
        "正确答案", choices=choices((x, x) for x in LETTERS), validators=[Optional()]
    )
    # One key only: radio buttons, so a second choice replaces the first.
    single_answer = RadioField(
        "正确答案", choices=choices((x, x) for x in LETTERS), validators=[Optional()]
    )
    judgement = RadioField(
        "正确答案",
        choices=choices((str(i), text) for i, text in enumerate(TRUE_FALSE_CHOICES)),
        validators=[Optional()],
    )
    blanks = TextAreaField(
        "填空答案",
        description="每行一个空，按题干中空的顺序；同一空的几个可接受答案用 / 分隔：十五日/15日",
        render_kw={"rows": 3},
    )
    model_answer = TextAreaField(
        "参考答案",
        description="阅卷人评分时参照；考生在成绩公布前看不到。",
        render_kw={"rows": 4},
    )
    marking_points = TextAreaField(
        "得分要点",
        description="每行一个要点，行末写分值：「指出应当听取当事人陈述 2」。阅卷时逐条勾选。",
        render_kw={"rows": 4},
    )
    max_chars = IntegerField(
        "字数上限",
        validators=[Optional()],
        description=f"考生作答最多字数，默认 {DEFAULT_WRITTEN_CHARS}，最多 {MAX_WRITTEN_CHARS}。",
    )
    explanation = TextAreaField("解析", render_kw={"rows": 3})
    difficulty = SelectField("难度", choices=choices([("", "未设置"), *DIFFICULTIES]))
    law_refs = StringField(
        "法律依据",
        description="如：行政处罚法（2021年修订）第36条、第37条；宪法第5条。不写版本即引用现行版本。",
    )
    topics = StringField("知识点", description="多个知识点用 | 或 ， 分隔")
    save = SubmitField("保存")
    preview = SubmitField("预览")
    # Shown beside the list of nearly identical questions found when saving a new one.
    save_anyway = SubmitField("仍然保存")

    def choice_fields(self):
        return [getattr(self, f"choice_{x.lower()}") for x in LETTERS]

    def validate_law_refs(self, field) -> None:
        _, error = parse_law_refs(field.data or "")
        if error:
            raise ValidationError(error)

    def draft(self) -> QuestionDraft:
        """The draft the form describes; only the inputs of the chosen type count."""
        kind = self.type.data
        editor = _editor(kind)
        options, answer, blanks = [], [], []
        written = {}
        if editor == "written":
            written = {
                "model_answer": self.model_answer.data or "",
                "marking_points": parse_marking_points(self.marking_points.data or ""),
                "max_chars": self.max_chars.data,
            }
        if editor == "choices":
            options = [field.data or "" for field in self.choice_fields()]
            if _one_key(kind):
                answer = [LETTERS.index(self.single_answer.data)] if self.single_answer.data else []
            else:
                answer = sorted(LETTERS.index(x) for x in self.answer.data or [])
        elif editor == "judgement":
            options = list(TRUE_FALSE_CHOICES)
            answer = [int(self.judgement.data)] if self.judgement.data else []
        elif editor == "blanks":
            blanks = [
                [a.strip() for a in re.split(r"[/／]", line) if a.strip()]
                for line in (self.blanks.data or "").splitlines()
                if line.strip()
            ]
        return QuestionDraft(
            type=kind,
            stem=self.stem.data or "",
            choices=options,
            answer=answer,
            blanks=blanks,
            explanation=self.explanation.data or "",
            difficulty=int(self.difficulty.data) if self.difficulty.data else None,
            law_refs=parse_law_refs(self.law_refs.data or "")[0],
            topics=split_topics(self.topics.data or ""),
            **written,
        )

    def fill(self, draft: QuestionDraft) -> None:
        """Show a stored draft for editing."""
        self.type.data = draft.type
        self.stem.data = draft.stem
        editor = _editor(draft.type)
        if editor == "choices":
            for field, text in zip(self.choice_fields(), draft.choices, strict=False):
                field.data = text
            self.answer.data = [letter(i) for i in draft.answer]
            if _one_key(draft.type) and draft.answer:
                self.single_answer.data = letter(draft.answer[0])
        elif editor == "judgement" and draft.answer:
            self.judgement.data = str(draft.answer[0])
        self.blanks.data = "\n".join("/".join(alternatives) for alternatives in draft.blanks)
        self.model_answer.data = draft.model_answer
        self.marking_points.data = "\n".join(
            f"{text} {points}" for text, points in draft.marking_points
        )
        self.max_chars.data = draft.max_chars
        self.explanation.data = draft.explanation
        self.difficulty.data = str(draft.difficulty) if draft.difficulty else ""
        self.law_refs.data = format_law_refs(draft.law_refs)
        self.topics.data = " | ".join(draft.topics)

    def attach_errors(self, errors: dict[str, str]) -> list[str]:
        """Show the bank's messages (keyed by draft field) on the inputs they concern,
        and the rest above the form."""
        for name, message in errors.items():
            if name == "answer" and _editor(self.type.data) == "judgement":
                name = "judgement"
            elif name == "answer" and _one_key(self.type.data):
                name = "single_answer"
            elif name == "choices":
                name = "choice_a"
            field = self._fields.get(name)
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]
        return []


def _one_key(type_id: str | None) -> bool:
    """Whether the type's key is one of its choices, picked with radio buttons."""
    kind = TYPES.get(type_id or "")
    return kind is not None and kind.editor == "choices" and kind.input == "radio"


def _editor(type_id: str | None) -> str | None:
    """The part of the form that holds the key of a question of this type."""
    kind = TYPES.get(type_id or "")
    return kind.editor if kind else None


class EditQuestionForm(QuestionForm):
    change_note = StringField(
        "修改说明",
        description="写明为何修改，如「依据2021年修订调整答案」；留空记为「修改」",
        validators=[Optional(), Length(max=200, message="修改说明最多200字")],
    )


# --- import ------------------------------------------------------------------------


class ImportForm(Form):
    file = FileField(
        "题库文件",
        validators=[
            FileRequired("请选择文件"),
            FileAllowed(IMPORT_EXTENSIONS, "只支持 xlsx、csv、gift、txt、aiken、xml、docx 文件"),
        ],
    )
    format = SelectField(
        "文件格式",
        choices=choices(
            [
                ("", "自动识别（按扩展名和内容）"),
                *((key, spec.label) for key, spec in formats.FORMATS.items()),
            ]
        ),
        validators=[Optional()],
    )


class ConfirmImportForm(Form):
    duplicates = RadioField(
        "重复的试题",
        choices=choices([("skip", "跳过重复"), ("keep", "保留重复")]),
        default="skip",
    )
    # Off unless ticked: an import is all or nothing unless the trainer chooses otherwise.
    skip_invalid = BooleanField("只导入通过检查的试题，跳过有错误的行（可下载错误行改正后再导入）")


# --- laws --------------------------------------------------------------------------


def _law_name(text: str | None) -> str | None:
    # Citations name a law without 《》 or 中华人民共和国, so the registry must as well.
    if text is None:
        return None
    return text.strip().replace("《", "").replace("》", "").removeprefix("中华人民共和国")


class LawForm(Form):
    name = StringField(
        "简称",
        filters=[_law_name],
        description="引用时使用的名称，不带书名号和「中华人民共和国」，如：行政处罚法",
        validators=[DataRequired("请填写法律简称"), Length(max=100, message="简称最多100字")],
    )
    full_name = StringField(
        "全称", validators=[Optional(), Length(max=200, message="全称最多200字")]
    )
    label = StringField(
        "现行版本",
        description="如：2021年修订、2018年修正",
        validators=[DataRequired("请填写现行版本"), Length(max=50, message="版本最多50字")],
    )
    effective_on = ChineseDateField("施行日期", validators=[Optional()])


class RevisionForm(Form):
    label = StringField(
        "新版本",
        validators=[DataRequired("请填写新版本"), Length(max=50, message="版本最多50字")],
    )
    effective_on = ChineseDateField("施行日期", validators=[Optional()])


# --- statute texts -------------------------------------------------------------------

LAW_TEXT_EXTENSIONS = ["docx", "txt", "md"]


class LawTextImportForm(Form):
    file = FileField(
        "法律文本文件",
        description="从国家法律法规数据库下载的 .docx，或 .txt（UTF-8/GB18030）、Markdown 文本",
        validators=[
            FileRequired("请选择文件"),
            FileAllowed(LAW_TEXT_EXTENSIONS, "只支持 docx、txt、md 文件"),
        ],
    )
    law_name = StringField(
        "法律简称",
        filters=[_law_name],
        description="留空则取自标题或文件名，如：行政处罚法",
        validators=[Optional(), Length(max=100, message="简称最多100字")],
    )
    label = StringField(
        "版本",
        description="留空则按题注判断，如：2021年修订；法律库中已有该法时，新版本会与现行版本逐条比较",
        validators=[Optional(), Length(max=50, message="版本最多50字")],
    )


class ConfirmLawImportForm(Form):
    law_name = HiddenField("法律简称", validators=[Optional(), Length(max=100)])
    label = HiddenField("版本", validators=[Optional(), Length(max=50)])


# --- cases -------------------------------------------------------------------------


CASE_PARTS_HELP = (
    "每道小题按中文编号题库的写法：「1．【单选题】题干」，下一行起「A．选项」各占一行，"
    "再一行「答案：B」；可加「解析：」「法律依据：行政处罚法第36条」「知识点：」「难度：」行。"
    "题与题之间空一行。题型可为单选、多选、判断、填空。"
)


class CaseForm(Form):
    title = StringField("案例标题", validators=[DataRequired(), Length(max=200)])
    material = TextAreaField(
        "案例材料", validators=[DataRequired(), Length(max=20000)], render_kw={"rows": 8}
    )
    table = TextAreaField(
        "表格（可选）",
        validators=[Optional(), Length(max=10000)],
        description="每行一行表格，单元格用 | 分隔，第一行为表头。",
        render_kw={"rows": 3},
    )
    questions = TextAreaField(
        "小题",
        validators=[DataRequired(), Length(max=40000)],
        description=CASE_PARTS_HELP,
        render_kw={"rows": 14},
    )
    points = StringField(
        "小题分值",
        validators=[DataRequired(), Length(max=200)],
        description="按小题顺序填写，用空格分隔，如「2 2 3」；各题相同可只填一个数。",
    )
    change_note = StringField("修改说明", validators=[Optional(), Length(max=200)])
    submit = SubmitField("保存")
