"""Moodle Aiken format (import only): a stem, option lines `A. …`/`A) …`, `ANSWER: B`.

Accepted beyond Moodle: `A、`/`A．`/`A）` option prefixes (no space needed), `答案：B`, and
several letters after ANSWER (a multiple-choice question). Two options that read
正确/错误 (or True/False, 对/错) make a 判断 question.
"""

import re
from dataclasses import dataclass, field

from core.spreadsheets import ENCODING_ERROR, decode_text, strip_control
from question_bank.drafts import (
    ParsedRow,
    ParseResult,
    QuestionDraft,
    RowError,
    check_draft,
    clean_draft,
    finish,
    parse_answer_letters,
    true_false_value,
)
from question_bank.types import clip, letter, letters_span

_OPTION = re.compile(r"^([A-Z])\s*[.)．、）]\s*(.*)$")
# Moodle's own form ("A) " with a space): only these are reported when out of place, so a
# stem line such as "I.e." is not mistaken for an option.
_STRICT_OPTION = re.compile(r"^[A-Z][.)]\s")
_TRUE_FALSE_OPTIONS = {"正确", "错误", "对", "错", "TRUE", "FALSE", "√", "×"}
_ANSWER = re.compile(r"^(?:ANSWER|答案)\s*[:：]\s*(.*)$", re.IGNORECASE)


@dataclass
class _Question:
    start: int
    stem: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    error: RowError | None = None


def parse_aiken(data: bytes) -> ParseResult:
    text = decode_text(data)
    if text is None:
        return ParseResult([], [RowError(0, "", ENCODING_ERROR)], [])
    text = strip_control(text)
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    question: _Question | None = None
    # After a broken question is reported, its own ANSWER line is not reported again.
    swallow_answer = False

    def close_unfinished(q: _Question) -> None:
        nonlocal swallow_answer
        if q.error:
            errors.append(q.error)
        else:
            errors.append(RowError(q.start, "答案", "题目缺少 ANSWER: 行"))
        swallow_answer = True

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        if not line:
            if question and (question.options or question.error):
                close_unfinished(question)
                question = None
        elif answer:
            if question is None:
                if not swallow_answer:
                    errors.append(RowError(number, "", "ANSWER: 行前面没有题目"))
            elif question.error:
                errors.append(question.error)
            else:
                draft, error = _build(question, answer[1].strip())
                if error:
                    errors.append(error)
                else:
                    draft = clean_draft(draft)
                    found = check_draft(draft, question.start, {}, set())
                    errors.extend(found)
                    if not found:
                        rows.append(ParsedRow(question.start, draft))
            question = None
            swallow_answer = False
        elif option and question and question.stem and option[1] == letter(len(question.options)):
            question.options.append(option[2].strip())
        elif option and _STRICT_OPTION.match(line):  # an option line out of place
            if question is None or not question.stem:
                question = question or _Question(number)
                question.error = question.error or RowError(number, "题干", "选项前面缺少题干")
            elif not question.error:
                expected = letter(len(question.options))
                message = f"选项字母应为 {expected}，实为 {option[1]}"
                question.error = RowError(question.start, "选项", message)
        elif question is not None and question.options:
            close_unfinished(question)
            question = _Question(number, stem=[line])
            swallow_answer = False
        elif question is not None:
            question.stem.append(line)
        else:
            question = _Question(number, stem=[line])
            swallow_answer = False
    if question is not None:
        close_unfinished(question)
    return finish(rows, errors)


def _build(question: _Question, answer_text: str) -> tuple[QuestionDraft, RowError | None]:
    stem = "\n".join(question.stem)
    options = question.options
    indices = parse_answer_letters(answer_text)
    draft = QuestionDraft("single", stem, options, [], [])
    if not options:
        return draft, RowError(question.start, "选项", "题目没有选项（选项行应写作 A. 或 A) 开头）")
    if indices is None:
        return draft, RowError(
            question.start, "答案", f"ANSWER「{clip(answer_text)}」应为选项字母，如 ANSWER: B"
        )
    if any(i >= len(options) for i in indices):
        wrong = "".join(letter(i) for i in indices if i >= len(options))
        message = f"答案「{wrong}」不是已填写的选项（只有{letters_span(len(options))}）"
        return draft, RowError(question.start, "答案", message)
    values = [true_false_value(o) for o in options]
    both_words = all(o.strip().upper() in _TRUE_FALSE_OPTIONS for o in options)
    if len(options) == 2 and both_words and values[0] != values[1] and len(indices) == 1:
        correct = values[indices[0]]
        return QuestionDraft("true_false", stem, ["正确", "错误"], [0 if correct else 1], []), None
    draft.type = "multiple" if len(indices) > 1 else "single"
    draft.answer = indices
    return draft, None
