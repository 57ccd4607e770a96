"""Moodle XML question format: import and export.

Import reads `multichoice` (the `<single>` flag), `truefalse` and `shortanswer` questions;
`category` items set the topic of the questions that follow and `<tags>` add topics. HTML
text becomes plain text. Export writes plain_text fields, so text round-trips exactly.
Difficulty and law references have no place in Moodle XML and are not written.
"""

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from core.spreadsheets import strip_control
from question_bank.drafts import (
    FIELD_LABELS,
    ParsedRow,
    ParseResult,
    QuestionDraft,
    RowError,
    check_draft,
    clean_draft,
    finish,
    html_to_text,
    true_false_value,
)
from question_bank.formats.gift import category_topic, moodle_fraction
from question_bank.types import TRUE_FALSE_CHOICES, clip

_SUPPORTED = {"multichoice", "truefalse", "shortanswer"}
_FULL = 99.999  # fractions such as 33.33333 x 3 do not add up to exactly 100


class _XmlError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def parse_moodle_xml(data: bytes) -> ParseResult:
    try:
        # Moodle never writes a DTD; refusing one wherever it stands rules out entity
        # expansion ("billion laughs") and external entities.
        root = DefusedET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        return _file_error("XML 文件不能包含 DOCTYPE 或实体声明")
    except ET.ParseError as exc:
        line, column = exc.position
        return _file_error(f"XML 格式错误（第{line}行第{column}列），文件可能不完整或已损坏")
    except (LookupError, ValueError):  # encoding="GBK" and the like: expat reads UTF-8/16
        return _file_error("XML 文件的编码无法识别，请以 UTF-8 编码保存")
    if root.tag != "quiz":
        return _file_error("不是 Moodle XML 题库文件：根元素应为 <quiz>")

    rows, errors = [], []
    topic = None
    for index, question in enumerate(root.findall("question"), start=1):
        kind = question.get("type", "")
        if kind == "category":
            topic = category_topic(_field_text(question.find("category"), "plain_text"))
            continue
        if kind not in _SUPPORTED:
            message = f"不支持的题型：{kind or '未注明'}（仅支持单选、多选、判断、填空）"
            errors.append(RowError(index, FIELD_LABELS["type"], message))
            continue
        try:
            draft = _read_question(question, kind)
        except _XmlError as exc:
            errors.append(RowError(index, exc.column, exc.message))
            continue
        tags = [(tag.findtext("text") or "").strip() for tag in question.iter("tag")]
        draft.topics = list(dict.fromkeys(t for t in [topic, *tags] if t))
        draft = clean_draft(draft)
        found = check_draft(draft, index, {}, set())
        if found:
            errors.extend(found)
        else:
            rows.append(ParsedRow(index, draft))
    return finish(rows, errors)


def _file_error(message: str) -> ParseResult:
    return ParseResult([], [RowError(0, "", message)], [])


def _field_text(element, default_format: str = "html") -> str:
    """Text of `<x format=".."><text>…</text></x>`; HTML formats become plain text."""
    if element is None:
        return ""
    node = element.find("text")
    raw = "".join(node.itertext()) if node is not None else ""
    if element.get("format", default_format) in ("plain_text", "markdown"):
        return raw.strip()
    return html_to_text(raw)


def _answers(question) -> list[tuple[str, float]]:
    answers = []
    for answer in question.findall("answer"):
        raw = answer.get("fraction", "0")
        try:
            fraction = float(raw)
        except ValueError:
            raise _XmlError("答案", f"得分比例 fraction=「{clip(raw)}」无法识别") from None
        answers.append((_field_text(answer), fraction))
    return answers


def _read_question(question, kind: str) -> QuestionDraft:
    stem = _field_text(question.find("questiontext"))
    explanation = _field_text(question.find("generalfeedback"))
    answers = _answers(question)
    if kind == "multichoice":
        single = (question.findtext("single") or "true").strip().lower() not in ("false", "0")
        choices = [text for text, _ in answers]
        positive = [i for i, (_, f) in enumerate(answers) if f > 0]
        full = [i for i, (_, f) in enumerate(answers) if f >= _FULL]
        if not single and len(positive) >= 2:
            return QuestionDraft("multiple", stem, choices, positive, [], explanation)
        return QuestionDraft("single", stem, choices, full or positive, [], explanation)
    if kind == "truefalse":
        correct = [text for text, f in answers if f >= _FULL]
        if not correct:
            raise _XmlError("答案", "判断题没有得满分（fraction=100）的答案")
        value = true_false_value(correct[0])
        if value is None:
            raise _XmlError("答案", f"判断题的答案应为 true 或 false，实为「{clip(correct[0])}」")
        return QuestionDraft(
            "true_false", stem, list(TRUE_FALSE_CHOICES), [0 if value else 1], [], explanation
        )
    # Partial-credit and wildcard answers have no place in a fill-in blank.
    alternatives = [text for text, f in answers if f >= _FULL and text and text != "*"]
    if not alternatives:
        raise _XmlError("答案", "填空题没有得满分（fraction=100）的答案")
    return QuestionDraft(
        "fill_blank", stem, [], [], [list(dict.fromkeys(alternatives))], explanation
    )


# ---------------------------------------------------------------- export

_MOODLE_TYPES = {
    "single": "multichoice",
    "multiple": "multichoice",
    "true_false": "truefalse",
    "fill_blank": "shortanswer",
}


def export_moodle_xml(drafts: list[QuestionDraft]) -> tuple[bytes, list[str]]:
    """Moodle XML (UTF-8) and the warnings for questions it cannot carry."""
    quiz = ET.Element("quiz")
    warnings = []
    for number, draft in enumerate(drafts, start=1):
        if draft.type == "fill_blank" and len(draft.blanks) != 1:
            warnings.append(
                f"第{number}题是有{len(draft.blanks)}个空的填空题，"
                "Moodle XML 的 shortanswer 只能表示一个空，已跳过"
            )
            continue
        question = ET.SubElement(quiz, "question", type=_MOODLE_TYPES[draft.type])
        _text_field(question, "name", clip(draft.stem.splitlines()[0] if draft.stem else "", 50))
        _text_field(question, "questiontext", draft.stem, "plain_text")
        _text_field(question, "generalfeedback", draft.explanation, "plain_text")
        ET.SubElement(question, "defaultgrade").text = "1"
        penalty = "1" if draft.type == "true_false" else "0.3333333"
        ET.SubElement(question, "penalty").text = penalty
        ET.SubElement(question, "hidden").text = "0"
        if draft.type in ("single", "multiple"):
            ET.SubElement(question, "single").text = "true" if draft.type == "single" else "false"
            # Keep the written order: options such as 以上都对 must stay last.
            ET.SubElement(question, "shuffleanswers").text = "false"
            ET.SubElement(question, "answernumbering").text = "ABCD"
            share = "100" if draft.type == "single" else moodle_fraction(len(draft.answer))
            wrong = "0" if draft.type == "single" else "-100"
            for i, choice in enumerate(draft.choices):
                _answer(question, choice, share if i in draft.answer else wrong)
        elif draft.type == "true_false":
            _answer(question, "true", "100" if draft.answer == [0] else "0", "moodle_auto_format")
            _answer(question, "false", "100" if draft.answer == [1] else "0", "moodle_auto_format")
        else:
            ET.SubElement(question, "usecase").text = "0"
            for alternative in draft.blanks[0]:
                _answer(question, alternative, "100")
        if draft.topics:
            tags = ET.SubElement(question, "tags")
            for topic in draft.topics:
                _text_field(tags, "tag", topic)
    ET.indent(quiz)
    body = ET.tostring(quiz, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8"), warnings


def _text_field(parent, tag: str, text: str, text_format: str | None = None):
    element = (
        ET.SubElement(parent, tag, format=text_format)
        if text_format
        else ET.SubElement(parent, tag)
    )
    ET.SubElement(element, "text").text = strip_control(text)
    return element


def _answer(question, text: str, fraction: str, text_format: str = "plain_text") -> None:
    answer = _text_field(question, "answer", text, text_format)
    answer.set("fraction", fraction)
    _text_field(answer, "feedback", "", "plain_text")
