"""Moodle GIFT text format: import and export.

Follows Moodle's own reader (question/format/gift/format.php): questions are separated by
blank lines, `//` lines are comments (carrying `[tag:…]`), `::name::` is ignored, the
answer block is the first `{…}`; text after it makes a missing-word question (the block
becomes `____` in the stem). Types: `=`/`~` multichoice (several positive `~%n%` weights
and no `=` -> multiple), `{T}`/`{FALSE}` true/false, `{=a =b}` short answer -> fill_blank
with one blank. Difficulty and law references have no place in GIFT and are not written.
"""

import re

from core.spreadsheets import ENCODING_ERROR, decode_text, strip_control
from question_bank.drafts import (
    ParsedRow,
    ParseResult,
    QuestionDraft,
    RowError,
    check_draft,
    clean_draft,
    finish,
    html_to_text,
)

# While a question is split, each escape (\= \{ ...) stands in for itself as a control
# character: strip_control has removed every such character from the text, so a
# placeholder never meets real text, and any text without control characters (which no
# exchange format carries) comes back as it was.
_PLACEHOLDERS = {ch: chr(i) for i, ch in enumerate("\\~=#{}:n")}
_RESTORE = str.maketrans({v: ("\n" if k == "n" else k) for k, v in _PLACEHOLDERS.items()})
_ESCAPED = re.compile(r"\\([\\~=#{}:n])")
_TAG = re.compile(r"\[tag:((?:\\\]|[^\]])+)\]")
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_FORMAT = re.compile(r"^\[(html|moodle|plain|markdown)\]")
_CLOZE = re.compile(
    r"\{\d*:(MULTICHOICE|MULTIRESPONSE|SHORTANSWER|NUMERICAL|MC|MR|SA|MW|NM)\w*:", re.IGNORECASE
)
_UNSUPPORTED = "不支持的题型：{}（仅支持单选、多选、判断、填空）"


class _GiftError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def parse_gift(data: bytes) -> ParseResult:
    text = decode_text(data)
    if text is None:
        return ParseResult([], [RowError(0, "", ENCODING_ERROR)], [])
    text = strip_control(text)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    rows, errors = [], []
    topic = None
    for lines in _blocks(text):
        comments = [line for _, line in lines if line.startswith("//")]
        content = [(n, line) for n, line in lines if not line.startswith("//")]
        if not content:
            continue
        if content[0][1].startswith("$CATEGORY:"):
            topic = category_topic(content[0][1][len("$CATEGORY:") :])
            content = content[1:]
            if not content:
                continue
        start = content[0][0]
        tags = [t.replace("\\]", "]").strip() for c in comments for t in _TAG.findall(c)]
        try:
            draft = _read_question("\n".join(line for _, line in content))
        except _GiftError as exc:
            errors.append(RowError(start, exc.column, exc.message))
            continue
        draft.topics = list(dict.fromkeys(t for t in [topic, *tags] if t))
        draft = clean_draft(draft)
        found = check_draft(draft, start, {}, set())
        if found:
            errors.extend(found)
        else:
            rows.append(ParsedRow(start, draft))
    return finish(rows, errors)


def category_topic(path: str) -> str | None:
    """`$course$/Iota/Kappa` -> 'Kappa': the innermost category names the topic."""
    parts = [p.strip() for p in re.sub(r"^\s*\$\w+\$", "", path).split("/")]
    parts = [p for p in parts if p and p != "top"]
    return parts[-1][:50] if parts else None


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    blocks, current = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if line:
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _read_question(text: str) -> QuestionDraft:
    if _CLOZE.search(text):
        raise _GiftError("题型", _UNSUPPORTED.format("cloze（完形填空）"))
    text = _ESCAPED.sub(lambda m: _PLACEHOLDERS[m[1]], text)
    if text.startswith("::"):
        end = text.find("::", 2)
        if end != -1:
            text = text[end + 2 :].strip()
    start, end = text.find("{"), text.find("}")
    if start == -1 and end == -1:
        raise _GiftError("题型", _UNSUPPORTED.format("description（说明文字）"))
    if start == -1 or end < start:
        raise _GiftError("", "大括号不配对：答案应写在一对 { } 中（文字中的 { } 请写作 \\{ \\}）")
    after = text[end + 1 :]
    if "{" in after or "}" in after:
        raise _GiftError("", "每道题只能有一个 { } 答案区（文字中的 { } 请写作 \\{ \\}）")
    before = text[:start]
    stem_text = before + ("____" + after if after.strip() else "")
    answer_text = text[start + 1 : end].strip()

    explanation = ""
    if "####" in answer_text:
        answer_text, explanation = answer_text.rsplit("####", 1)
        answer_text = answer_text.strip()

    stem, stem_format = _text(stem_text, "moodle")
    explanation, _ = _text(explanation, stem_format)
    kind = _question_kind(answer_text)
    if kind == "multichoice":
        draft = _multichoice(answer_text)
    elif kind == "truefalse":
        value = answer_text.split("#", 1)[0].strip() in ("T", "TRUE")
        draft = QuestionDraft("true_false", "", ["正确", "错误"], [0 if value else 1], [])
    elif kind == "shortanswer":
        draft = _shortanswer(answer_text)
    else:
        raise _GiftError("题型", _UNSUPPORTED.format(kind))
    draft.stem = stem
    draft.explanation = explanation
    return draft


def _question_kind(answer_text: str) -> str:
    # Same order of tests as Moodle's reader.
    if not answer_text:
        return "essay（问答）"
    if answer_text.startswith("#"):
        return "numerical（数值）"
    if "~" in answer_text:
        return "multichoice"
    items = [item for item in answer_text.split("=") if item.strip()]
    if "=" in answer_text and all("->" in item for item in items):
        # Moodle calls it matching if any item has "->"; requiring all of them lets a
        # fill-in answer contain "->".
        return "matching（匹配）"
    if answer_text.split("#", 1)[0].strip() in ("T", "TRUE", "F", "FALSE"):
        return "truefalse"
    return "shortanswer"


def _text(raw: str, default_format: str) -> tuple[str, str]:
    """Strip a [format] marker; HTML becomes plain text; escapes are restored."""
    raw = raw.strip()
    text_format = default_format
    match = _FORMAT.match(raw)
    if match:
        text_format, raw = match[1], raw[match.end() :]
    if text_format == "html":
        raw = html_to_text(raw)
    return raw.translate(_RESTORE).strip(), text_format


def _items(answer_text: str) -> list[tuple[str, str]]:
    """`=a ~b ~%50%c` -> [("=", "a"), ("~", "b"), ("~", "%50%c")]."""
    parts = re.split(r"(?=[=~])", answer_text)
    if parts[0].strip():
        raise _GiftError("答案", f"答案「{_text(parts[0], 'plain')[0][:30]}」前缺少 = 或 ~")
    return [(part[0], part[1:].strip()) for part in parts[1:]]


def _weighted(body: str, default: float) -> tuple[float, str]:
    match = _WEIGHT.match(body)
    if match:
        return float(match[1]), body[match.end() :]
    if body.startswith("%"):
        shown = body[:12].translate(_RESTORE)
        raise _GiftError("答案", f"得分比例「{shown}」无法识别，应写作 %50%")
    return default, body


def _multichoice(answer_text: str) -> QuestionDraft:
    choices, weights = [], []
    for marker, body in _items(answer_text):
        weight, body = _weighted(body, 100.0 if marker == "=" else 0.0)
        if marker == "=":
            weight = 100.0  # as in Moodle: `=` is always full credit
        choices.append(_text(body.split("#", 1)[0], "moodle")[0])
        weights.append(weight)
    positive = [i for i, w in enumerate(weights) if w > 0]
    if "=" not in answer_text and len(positive) >= 2:
        return QuestionDraft("multiple", "", choices, positive, [])
    full = [i for i, w in enumerate(weights) if w >= 99.999]
    return QuestionDraft("single", "", choices, full or positive, [])


def _shortanswer(answer_text: str) -> QuestionDraft:
    parts = answer_text.split("=")
    if not parts[0].strip():
        parts = parts[1:]
    alternatives = []
    for part in parts:
        weight, body = _weighted(part.strip(), 100.0)
        text = _text(body.split("#", 1)[0], "moodle")[0]
        # Partial-credit and wildcard answers have no place in a fill-in blank.
        if weight >= 99.999 and text and text != "*":
            alternatives.append(text)
    if not alternatives:
        raise _GiftError("答案", "填空题没有得满分（100%）的答案")
    return QuestionDraft("fill_blank", "", [], [], [list(dict.fromkeys(alternatives))])


# ---------------------------------------------------------------- export


def export_gift(drafts: list[QuestionDraft]) -> tuple[bytes, list[str]]:
    """GIFT text (UTF-8) and the warnings for questions GIFT cannot carry."""
    questions, warnings = [], []
    for number, draft in enumerate(drafts, start=1):
        if draft.type == "fill_blank" and len(draft.blanks) != 1:
            warnings.append(
                f"第{number}题是有{len(draft.blanks)}个空的填空题，GIFT 只能表示一个空，已跳过"
            )
            continue
        if draft.type == "fill_blank" and any("->" in a for a in draft.blanks[0]):
            warnings.append(f"第{number}题的答案含“->”，GIFT 会把它读成匹配题，已跳过")
            continue
        lines = []
        if draft.topics:
            lines.append("// " + " ".join(_tag(t) for t in draft.topics))
        lines.append(_escape(draft.stem) + " {")
        lines.extend("\t" + item for item in _answer_items(draft))
        if draft.explanation:
            lines.append("\t####" + _escape(draft.explanation))
        lines.append("}")
        questions.append("\n".join(lines))
    return ("\n\n".join(questions) + "\n").encode("utf-8"), warnings


def _answer_items(draft: QuestionDraft) -> list[str]:
    if draft.type == "true_false":
        return ["TRUE" if draft.answer == [0] else "FALSE"]
    if draft.type == "fill_blank":
        return ["=" + _escape(a) for a in draft.blanks[0]]
    if draft.type == "single":
        return [
            ("=" if i in draft.answer else "~") + _escape(c) for i, c in enumerate(draft.choices)
        ]
    share = moodle_fraction(len(draft.answer))
    return [
        (f"~%{share}%" if i in draft.answer else "~%-100%") + _escape(c)
        for i, c in enumerate(draft.choices)
    ]


def _tag(topic: str) -> str:
    return "[tag:" + topic.replace("]", "\\]") + "]"


def moodle_fraction(correct_count: int) -> str:
    """100 / n written as Moodle lists its grades: 50, 33.33333, 12.5 ..."""
    return f"{100 / max(correct_count, 1):.5f}".rstrip("0").rstrip(".")


def _escape(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\\", "\\\\")
    text = re.sub(r"([~=#{}:])", r"\\\1", text).replace("\n", "\\n")
    if text.startswith(("[", "//", "%")):
        text = "[plain]" + text  # so it is not read as a format marker, comment or weight
    return text
