"""Question types: one registry of everything that differs between them.

A type id (single, multiple, true_false, fill_blank) maps to one QuestionType that knows
its Chinese label, which part of the edit form holds its key, how the browser asks for
an answer, what a valid draft of it is, how a candidate's answer is read and normalised,
what of it the paper shows (never the key), how it is graded and how its key reads.
A fifth type is one more entry in TYPES (plus, if it needs a new kind of input, its part
of templates/bank/_question.html and the exam page). Nothing here touches Flask or the
database: drafts and question versions are read by their attributes.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

LETTERS = "ABCDEFGH"
MAX_CHOICES = len(LETTERS)
TRUE_FALSE_CHOICES = ["正确", "错误"]
#: separate blanks and alternatives in the template's answer cell
BLANK_SEPARATORS = "|｜/／"
#: a blank in a fill-in stem: a run of 3+ underscores, or empty brackets （ ） / ( )
BLANK_MARKER = re.compile(r"_{3,}|[（(][ \u3000\xa0]*[）)]")
#: what a candidate may write in one blank
MAX_BLANK_CHARS = 200
# Dropped from the end of a fill-in answer: a candidate who ends "15日" with a full stop
# still means "15日". ． and ｡ become . and 。 under NFKC before this applies.
TRAILING_PUNCTUATION = "。.;；"
CENT = Decimal("0.01")


class MultiplePolicy(StrEnum):
    """How an exam marks a multiple-choice question answered in part."""

    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL = "partial"  # 少选得部分分、错选不得分


class AnswerError(ValueError):
    """A candidate's answer has a shape its question cannot take; `message` is Chinese."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def letter(index: int) -> str:
    return chr(ord("A") + index)


def letters_span(count: int) -> str:
    """'A–D' for four choices, 'A' for one: used in messages."""
    if count <= 1:
        return "A"
    return f"A–{letter(count - 1)}"


def count_blanks(stem: str) -> int:
    return len(BLANK_MARKER.findall(stem))


def clip(text: str, limit: int = 30) -> str:
    """Shorten user text quoted in an error message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def normalise_blank(text: str) -> str:
    """Fill-in answers compare equal up to width, case, whitespace and a final full stop."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if not ch.isspace())
    return text.rstrip(TRAILING_PUNCTUATION)


def _is_index(value: object) -> bool:
    # bool is an int subclass: True must not pass for choice 1.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Key:
    """What grading needs of a frozen question version."""

    type: str
    answer: tuple[int, ...] = ()  # correct choice indices, in the original choice order
    blanks: tuple[tuple[str, ...], ...] = ()  # fill_blank: accepted answers per blank

    def __post_init__(self) -> None:
        # A bad key is a programming or data error: fail when it is built, not while a
        # candidate's paper is being marked.
        kind = TYPES.get(self.type)
        if kind is None:
            raise ValueError(f"unknown question type {self.type!r}")
        kind.check_key(self)

    @classmethod
    def of(cls, version) -> "Key":
        """The key of a question version (or draft)."""
        return cls(
            type=version.type,
            answer=tuple(version.answer),
            blanks=tuple(tuple(blank) for blank in version.blanks),
        )


@dataclass(frozen=True)
class QuestionType:
    id: str
    label: str
    #: how the exam page asks for the answer: "radio", "checkbox" or "text" (one per blank)
    input: str
    #: the part of the edit form that holds the key: "choices", "judgement" or "blanks"
    editor: str
    #: whether an exam may shuffle the choices (正确 stays before 错误)
    shuffles: bool = True
    #: whether the bank shows the choices with letters A, B, ...
    lettered: bool = True
    #: whether people mark the answer (阅卷) instead of a key at submission
    marked: bool = False

    # --- drafts (the edit form and every import) ---

    def check_draft(self, draft, errors: dict[str, str]) -> None:
        """Add the type's own field errors to `errors`."""
        raise NotImplementedError

    def fixed_choices(self) -> list[str] | None:
        """Choices every question of the type has, whatever the draft says."""
        return None

    # --- the candidate's answer ---

    def parse_answer(self, raw: object, choices: int, blanks: int, max_chars: int = 0) -> list:
        """The answer as stored, from the candidate's JSON; AnswerError when it cannot be
        one for a question with `choices` choices, `blanks` blanks (and, written, at most
        `max_chars` characters). [] is unanswered."""
        raise NotImplementedError

    def paper(self, version, choice_order) -> dict:
        """What the browser gets besides the stem: never the key."""
        return {
            "input": self.input,
            "choices": [{"value": index, "text": version.choices[index]} for index in choice_order],
        }

    # --- grading ---

    def check_key(self, key: Key) -> None:
        raise NotImplementedError

    def credit(self, key: Key, response: object, policy: MultiplePolicy) -> Fraction:
        """The fraction of the points earned; a malformed response earns 0, never raises."""
        raise NotImplementedError

    # --- showing the key ---

    def key_text(self, version) -> str:
        """The key as pages show it: 'AC', '正确', '第1空：15日 / 十五日；第2空：罚款'."""
        raise NotImplementedError

    def key_cell(self, version) -> str:
        """The key as the import template writes it (and reads it back)."""
        return self.key_text(version)


class _ChoiceType(QuestionType):
    """Choices and 0-based indices of the correct ones."""

    def check_key(self, key: Key) -> None:
        if not key.answer or not all(_is_index(i) for i in key.answer):
            raise ValueError(f"a {self.id} key needs non-negative choice indices")

    def parse_answer(self, raw: object, choices: int, blanks: int, max_chars: int = 0) -> list[int]:
        if not isinstance(raw, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in raw
        ):
            raise AnswerError("invalid_answer", f"{self.label}题的答案应为所选选项的编号。")
        if any(not 0 <= x < choices for x in raw):
            raise AnswerError("choice_out_of_range", "所选选项不是本题的选项。")
        if len(set(raw)) != len(raw):
            raise AnswerError("repeated_choice", "同一个选项选了不止一次。")
        return sorted(raw)

    @staticmethod
    def _chosen(response: object) -> frozenset[int] | None:
        """The set of chosen indices; None when the response is malformed."""
        if response is None:
            return frozenset()
        if not isinstance(response, list | tuple) or not all(_is_index(i) for i in response):
            return None
        return frozenset(response)

    def key_text(self, version) -> str:
        return "".join(LETTERS[i] for i in version.answer if i < len(LETTERS))


class _OneChoice(_ChoiceType):
    def check_key(self, key: Key) -> None:
        super().check_key(key)
        if len(set(key.answer)) != 1:
            raise ValueError(f"a {self.id} key has exactly one correct choice")

    def parse_answer(self, raw: object, choices: int, blanks: int, max_chars: int = 0) -> list[int]:
        answer = super().parse_answer(raw, choices, blanks)
        if len(answer) > 1:
            raise AnswerError("invalid_answer", f"{self.label}题只能选一个选项。")
        return answer

    def credit(self, key: Key, response: object, policy: MultiplePolicy) -> Fraction:
        return Fraction(1) if self._chosen(response) == frozenset(key.answer) else Fraction(0)


class SingleType(_OneChoice):
    def check_draft(self, draft, errors: dict[str, str]) -> None:
        if _check_choices(self, draft, errors) and len(draft.answer) != 1:
            errors["answer"] = f"单选题只能有一个正确答案（现有{len(draft.answer)}个）"


class MultipleType(_ChoiceType):
    def check_draft(self, draft, errors: dict[str, str]) -> None:
        if _check_choices(self, draft, errors) and len(draft.answer) < 2:
            errors["answer"] = "多选题至少应有两个正确选项"

    def credit(self, key: Key, response: object, policy: MultiplePolicy) -> Fraction:
        chosen = self._chosen(response)
        correct = frozenset(key.answer)
        if not chosen:  # unanswered or malformed
            return Fraction(0)
        if chosen == correct:
            return Fraction(1)
        if policy is MultiplePolicy.PARTIAL and chosen < correct:
            return Fraction(len(chosen), len(correct))
        return Fraction(0)  # a wrong choice, or a subset under all-or-nothing


class TrueFalseType(_OneChoice):
    def check_draft(self, draft, errors: dict[str, str]) -> None:
        if [c.strip() for c in draft.choices] != TRUE_FALSE_CHOICES:
            errors["choices"] = "判断题的选项固定为「正确」「错误」"
        if draft.answer not in ([0], [1]):
            errors["answer"] = "判断题的答案必须是「正确」或「错误」之一"

    def fixed_choices(self) -> list[str]:
        return list(TRUE_FALSE_CHOICES)

    def key_text(self, version) -> str:
        return TRUE_FALSE_CHOICES[version.answer[0]] if version.answer else ""


class FillBlankType(QuestionType):
    def check_draft(self, draft, errors: dict[str, str]) -> None:
        if any(c.strip() for c in draft.choices) or draft.answer:
            errors["choices"] = "填空题不应有选项"
        if not draft.blanks:
            errors["blanks"] = "填空题至少需要一个空的答案"
            return
        for i, alternatives in enumerate(draft.blanks, start=1):
            if not any(a.strip() for a in alternatives):
                errors["blanks"] = f"第{i}空没有填写答案"
                return
            if any(sep in a for a in alternatives for sep in BLANK_SEPARATORS):
                errors["blanks"] = f"第{i}空的答案不能包含 | 或 /（它们用于分隔空和备选答案）"
                return
        markers = count_blanks(draft.stem)
        if markers and markers != len(draft.blanks):
            errors["blanks"] = f"题干中有{markers}处空（____），但答案有{len(draft.blanks)}个空"

    def parse_answer(self, raw: object, choices: int, blanks: int, max_chars: int = 0) -> list[str]:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise AnswerError("invalid_answer", "填空题的答案应为每个空所填的文字。")
        if len(raw) > blanks:
            raise AnswerError("invalid_answer", f"本题只有 {blanks} 个空。")
        if any(len(text) > MAX_BLANK_CHARS for text in raw):
            raise AnswerError("invalid_answer", f"每个空最多填写 {MAX_BLANK_CHARS} 字。")
        return raw

    def paper(self, version, choice_order) -> dict:
        # How many inputs, never their answers.
        return {
            "input": self.input,
            "choices": [],
            "blanks": len(version.blanks),
            "max_chars": MAX_BLANK_CHARS,
        }

    def check_key(self, key: Key) -> None:
        if not key.blanks or not all(key.blanks):
            raise ValueError("a fill_blank key needs at least one accepted answer per blank")

    def credit(self, key: Key, response: object, policy: MultiplePolicy) -> Fraction:
        if response is None:
            return Fraction(0)
        if not isinstance(response, list | tuple) or len(response) > len(key.blanks):
            return Fraction(0)
        if not all(isinstance(text, str) for text in response):
            return Fraction(0)
        # A response shorter than the key leaves the last blanks unanswered.
        right = sum(
            _blank_matches(text, accepted)
            for text, accepted in zip(response, key.blanks, strict=False)
        )
        return Fraction(right, len(key.blanks))

    def key_text(self, version) -> str:
        if len(version.blanks) == 1:
            return " / ".join(version.blanks[0])
        return "；".join(
            f"第{i}空：{' / '.join(alternatives)}"
            for i, alternatives in enumerate(version.blanks, start=1)
        )

    def key_cell(self, version) -> str:
        return "|".join("/".join(alternatives) for alternatives in version.blanks)


#: the longest written answer a question may ask for (a save's body stays under 16 KB)
MAX_WRITTEN_CHARS = 3000
DEFAULT_WRITTEN_CHARS = 800


class WrittenType(QuestionType):
    """简答/论述: a text answer that markers mark with a model answer and marking points
    (得分要点, each with points); no key is graded at submission.

    The answer is stored as [text], like a fill-in question with one blank."""

    def check_draft(self, draft, errors: dict[str, str]) -> None:
        if any(c.strip() for c in draft.choices) or draft.answer or draft.blanks:
            errors["choices"] = f"{self.label}题不应有选项或填空答案"
        if not draft.model_answer.strip():
            errors["model_answer"] = f"{self.label}题需要参考答案"
        points = draft.marking_points
        if not points:
            errors["marking_points"] = "至少需要一个得分要点"
        elif any(not text.strip() or not _positive_points(value) for text, value in points):
            errors["marking_points"] = "每个得分要点需要内容和大于 0 的分值（最多两位小数）"
        limit = draft.max_chars
        if limit is not None and not 10 <= limit <= MAX_WRITTEN_CHARS:
            errors["max_chars"] = f"字数上限应为 10–{MAX_WRITTEN_CHARS}"

    def parse_answer(self, raw: object, choices: int, blanks: int, max_chars: int = 0) -> list[str]:
        if not isinstance(raw, list) or len(raw) > 1 or not all(isinstance(x, str) for x in raw):
            raise AnswerError("invalid_answer", f"{self.label}题的答案应为一段文字。")
        limit = max_chars or DEFAULT_WRITTEN_CHARS
        if raw and len(raw[0]) > limit:
            raise AnswerError("too_long", f"本题最多作答 {limit} 字（现有 {len(raw[0])} 字）。")
        return raw

    def paper(self, version, choice_order) -> dict:
        # One text box and its limit: never the model answer or the marking points.
        return {
            "input": self.input,
            "choices": [],
            "blanks": 1,
            "max_chars": version.max_chars or DEFAULT_WRITTEN_CHARS,
            "multiline": True,
        }

    def check_key(self, key: Key) -> None:
        if key.answer or key.blanks:
            raise ValueError(f"a {self.id} question has no key: markers mark it")

    def credit(self, key: Key, response: object, policy: MultiplePolicy) -> Fraction:
        # Never called for a score (score_attempt takes markers' marks): nothing is earned
        # from a key.
        return Fraction(0)

    def key_text(self, version) -> str:
        return version.model_answer

    def key_cell(self, version) -> str:
        return version.model_answer


def _positive_points(value) -> bool:
    try:
        points = Decimal(str(value))
    except ArithmeticError:
        return False
    return points > 0 and points == points.quantize(CENT)


def marking_total(marking_points) -> Decimal:
    """The points of a written question's marking points together."""
    return sum((Decimal(str(points)) for _, points in marking_points), Decimal(0))


def _blank_matches(text: str, accepted) -> bool:
    given = normalise_blank(text)
    # An empty blank never matches, even if an alternative normalises to nothing.
    return bool(given) and any(given == normalise_blank(a) for a in accepted)


def _check_choices(kind: QuestionType, draft, errors: dict[str, str]) -> bool:
    """Choices and the indices of the key; True when the count of correct ones is left for
    the type to check."""
    texts = [c.strip() for c in draft.choices]
    while texts and not texts[-1]:
        texts.pop()
    if len(texts) < 2:
        errors["choices"] = f"{kind.label}题至少需要2个选项"
    elif len(texts) > MAX_CHOICES:
        errors["choices"] = f"选项最多{MAX_CHOICES}个（现有{len(texts)}个）"
    else:
        gap = next((i for i, text in enumerate(texts) if not text), None)
        if gap is not None:
            errors["choices"] = f"选项{letter(gap)}为空，但其后还有选项"
        else:
            seen: dict[str, int] = {}
            for i, text in enumerate(texts):
                key = unicodedata.normalize("NFKC", text)
                if key in seen:
                    first = letter(seen[key])
                    errors["choices"] = f"选项{first}与选项{letter(i)}重复：「{clip(text)}」"
                    break
                seen[key] = i

    answer = draft.answer
    if not texts:
        return False  # the missing choices are the error to fix first
    if len(set(answer)) != len(answer):
        errors["answer"] = "答案中有重复的选项"
    elif not answer:
        errors["answer"] = "未设置正确答案"
    elif missing := [i for i in answer if not 0 <= i < len(texts) or not texts[i]]:
        wrong = "".join(letter(i) if 0 <= i < 26 else "?" for i in missing)
        errors["answer"] = f"答案「{wrong}」不是已填写的选项（只有{letters_span(len(texts))}）"
    else:
        return True
    return False


#: every question type, in the order pages list them
TYPES: dict[str, QuestionType] = {
    kind.id: kind
    for kind in (
        SingleType("single", "单选", input="radio", editor="choices"),
        MultipleType("multiple", "多选", input="checkbox", editor="choices"),
        TrueFalseType(
            "true_false", "判断", input="radio", editor="judgement", shuffles=False, lettered=False
        ),
        FillBlankType("fill_blank", "填空", input="text", editor="blanks", shuffles=False),
        WrittenType(
            "short_answer", "简答", input="text", editor="written", shuffles=False, marked=True
        ),
        WrittenType("essay", "论述", input="text", editor="written", shuffles=False, marked=True),
    )
}
#: the types markers mark (简答, 论述)
MARKED_TYPES = tuple(kind.id for kind in TYPES.values() if kind.marked)
#: the types answered by picking choices (单选, 多选, 判断): their answers are lists of
#: choice indices, which scoring keeps on the paper and item analysis counts
CHOICE_TYPES = frozenset(kind.id for kind in TYPES.values() if kind.input != "text")
#: type id -> Chinese label, for select boxes and pages
QUESTION_TYPES = {kind.id: kind.label for kind in TYPES.values()}
#: for database check constraints: 'single', 'multiple', ...
TYPE_VALUES = ", ".join(f"'{type_id}'" for type_id in TYPES)


def of(type_id: str) -> QuestionType:
    try:
        return TYPES[type_id]
    except KeyError:
        raise ValueError(f"unknown question type {type_id!r}") from None


def with_editor(editor: str, input: str | None = None) -> list[str]:
    """Type ids whose key the given part of the edit form holds (with that input, if given:
    a 单选 key is chosen with radio buttons, a 多选 key with check boxes)."""
    return [
        kind.id
        for kind in TYPES.values()
        if kind.editor == editor and (input is None or kind.input == input)
    ]


def grade(key: Key, response: object, points: Decimal, policy: MultiplePolicy | str) -> Decimal:
    """Points earned for one response, rounded half up to 2 places, once, after scaling
    (so a question's points are never lost to per-blank or per-choice rounding).

    Choice types take a list of original choice indices, fill_blank a list of strings, one
    per blank; None or [] is unanswered. A malformed response earns 0 and never raises.
    """
    credit = of(key.type).credit(key, response, MultiplePolicy(policy))
    return (points * credit.numerator / credit.denominator).quantize(CENT, ROUND_HALF_UP)
