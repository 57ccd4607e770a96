"""The neutral form of a question, shared by every importer, exporter and the edit form.

Validation rules live here once: `validate_draft` is what the trainers' form and every
import call; what gets stored is `clean_draft(draft)` of a draft without errors. Nothing
here touches Flask or the database.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal
from html.parser import HTMLParser

from question_bank.types import TYPES, clip, of

MAX_STEM_CHARS = 2000
MAX_TOPIC_CHARS = 50
TOPIC_SEPARATORS = "|｜,，、;；"

# What a field is called on screen and in the exchange formats' error messages.
FIELD_LABELS = {
    "type": "题型",
    "stem": "题干",
    "choices": "选项",
    "answer": "答案",
    "blanks": "答案",
    "explanation": "解析",
    "difficulty": "难度",
    "law_refs": "法律依据",
    "topics": "知识点",
    "model_answer": "参考答案",
    "marking_points": "得分要点",
    "max_chars": "字数上限",
}


@dataclass(frozen=True)
class LawRefDraft:
    law: str  # short name, e.g. "行政处罚法" (no 《》, no leading 中华人民共和国)
    version: str | None  # e.g. "2021年修订"; None when the citation names no version
    article: int
    suffix: int = 0  # 第10条之一 -> 1
    paragraph: int | None = None  # 款, from 1
    item: int | None = None  # 项, from 1

    @property
    def place(self) -> str:
        """第64条第1款, 第9条第（二）项, 第10条之一: the article part of the citation."""
        text = f"第{self.article}条"
        if self.suffix:
            text += f"之{chinese_numeral(self.suffix)}"
        if self.paragraph:
            text += f"第{self.paragraph}款"
        if self.item:
            text += f"第（{chinese_numeral(self.item)}）项"
        return text


@dataclass
class QuestionDraft:
    type: str  # a type id of question_bank.types.TYPES
    stem: str
    choices: list[str]  # single/multiple: texts in order A, B, ...; true_false: 正确, 错误
    answer: list[int]  # 0-based indices of correct choices, sorted; fill_blank: []
    blanks: list[list[str]]  # fill_blank: per blank the accepted answers, first is canonical
    explanation: str = ""
    difficulty: int | None = None  # 1..5
    law_refs: list[LawRefDraft] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    #: 简答/论述: the model answer, the marking points [[text, points as text], ...] and
    #: the most characters an answer may have (None: the type's default)
    model_answer: str = ""
    marking_points: list[list[str]] = field(default_factory=list)
    max_chars: int | None = None


@dataclass
class RowError:
    row: int  # tables: row as Excel shows it; GIFT/Aiken: start line; XML: question index
    column: str  # column header or field name as the user sees it; "" for the whole row/file
    message: str


@dataclass(eq=False)
class CaseHead:
    """A case (案例) a file writes: its title, material and table; the rows after it that
    name it are its sub-questions, in order."""

    row: int
    title: str
    material: list[str] = field(default_factory=list)
    #: rows of cells, the first the header; [] for no table
    table: list[list[str]] = field(default_factory=list)


@dataclass
class ParsedRow:
    row: int
    draft: QuestionDraft
    #: what the importer changed on the way in, shown in the preview
    notes: list[str] = field(default_factory=list)
    #: the case whose sub-question this row is, and its points there
    case: CaseHead | None = None
    points: Decimal | None = None


@dataclass
class ParseResult:
    rows: list[ParsedRow]
    errors: list[RowError]
    duplicates: list[tuple[int, int]]  # (row, first row with the same fingerprint)
    #: row -> what the parser read of a refused row, as cells of the template's columns
    #: (formats/template.HEADER), for the error file a trainer fixes and imports again
    refused: dict[int, list[str]] = field(default_factory=dict)
    #: row -> fingerprint of its draft
    fingerprints: dict[int, str] = field(default_factory=dict)


# ---------------------------------------------------------------- cases

MAX_TITLE_CHARS = 200
MAX_MATERIAL_CHARS = 20_000
MAX_PARTS = 20
MAX_TABLE_ROWS = 50
MAX_TABLE_COLUMNS = 12
MAX_TABLE_CELL_CHARS = 500
MAX_PART_POINTS = Decimal(100)
CENT = Decimal("0.01")
#: cells of a table row as the case form writes them
TABLE_SEPARATORS = ("\t", "|", "｜")
#: the types a sub-question may have: the objective ones
CASE_PART_TYPES = ("single", "multiple", "true_false", "fill_blank")


@dataclass
class CaseDraft:
    title: str
    material: str
    questions: list[QuestionDraft]
    #: points of each sub-question, in order
    points: list[Decimal]
    #: rows of cells, the first the header; [] for no table
    table: list[list[str]] = field(default_factory=list)


def parse_table_text(text: str) -> list[list[str]]:
    """A table typed in the form: one row a line, cells split by a tab or |."""
    rows = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        separator = next((sep for sep in TABLE_SEPARATORS if sep in line), None)
        cells = line.split(separator) if separator else [line]
        rows.append([cell.strip() for cell in cells])
    return rows


def table_text(table: list[list[str]]) -> str:
    return "\n".join(" | ".join(row) for row in table)


def check_case(draft: CaseDraft) -> dict[str, str]:
    """Field name -> Chinese message for the case's own fields (the sub-questions are
    checked as bank questions when they are saved)."""
    errors = {}
    if not draft.title.strip():
        errors["title"] = "请填写案例标题"
    elif len(draft.title.strip()) > MAX_TITLE_CHARS:
        errors["title"] = f"案例标题不能超过{MAX_TITLE_CHARS}字"
    material = draft.material.strip()
    if not material:
        errors["material"] = "案例材料不能为空"
    elif len(material) > MAX_MATERIAL_CHARS:
        errors["material"] = f"案例材料不能超过{MAX_MATERIAL_CHARS}字（现有{len(material)}字）"
    if len(draft.table) > MAX_TABLE_ROWS:
        errors["table"] = f"表格最多{MAX_TABLE_ROWS}行"
    elif draft.table:
        widths = {len(row) for row in draft.table}
        if len(widths) > 1:
            errors["table"] = "表格每行的单元格数应相同（用 | 或制表符分隔）"
        elif widths.pop() > MAX_TABLE_COLUMNS:
            errors["table"] = f"表格最多{MAX_TABLE_COLUMNS}列"
        elif any(len(cell) > MAX_TABLE_CELL_CHARS for row in draft.table for cell in row):
            errors["table"] = f"表格的每个单元格不能超过{MAX_TABLE_CELL_CHARS}字"
    if not draft.questions:
        errors["questions"] = "案例至少需要一道小题"
    elif len(draft.questions) > MAX_PARTS:
        errors["questions"] = f"一个案例最多{MAX_PARTS}道小题"
    elif any(question.type not in CASE_PART_TYPES for question in draft.questions):
        errors["questions"] = "案例的小题只能是单选、多选、判断或填空题"
    if len(draft.points) != len(draft.questions):
        errors["points"] = (
            f"小题分值的个数（{len(draft.points)}）应与小题数（{len(draft.questions)}）相同"
        )
    elif any(not Decimal(0) < p <= MAX_PART_POINTS or p != p.quantize(CENT) for p in draft.points):
        errors["points"] = f"每道小题的分值应大于 0、不超过 {MAX_PART_POINTS}，最多两位小数"
    return errors


# ---------------------------------------------------------------- validation


def parse_marking_points(text: str) -> list[list[str]]:
    """Marking points as the form writes them, one a line with its points at the end
    (「指出应当听取陈述 2」, 「…（2分）」); a line without points keeps "" (refused by the
    type's check, which names it)."""
    points = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"(.*?)[\s,，:：]*[（(]?(\d+(?:\.\d{1,2})?)\s*分?[）)]?", line)
        if match and match.group(1):
            points.append([match.group(1).strip(), match.group(2)])
        else:
            points.append([line, ""])
    return points


def validate_draft(draft: QuestionDraft) -> dict[str, str]:
    """Field name -> Chinese error message; empty when the draft can be stored."""
    errors: dict[str, str] = {}
    kind = TYPES.get(draft.type)
    if kind is None:
        *others, last = (k.label for k in TYPES.values())
        errors["type"] = f"题型必须是{'、'.join(others)}或{last}"

    stem = draft.stem.strip()
    if not stem:
        errors["stem"] = "题干不能为空"
    elif len(stem) > MAX_STEM_CHARS:
        errors["stem"] = f"题干不能超过{MAX_STEM_CHARS}字（现有{len(stem)}字）"

    if kind is not None:
        kind.check_draft(draft, errors)

    if draft.difficulty is not None and (
        isinstance(draft.difficulty, bool)
        or not isinstance(draft.difficulty, int)
        or not 1 <= draft.difficulty <= 5
    ):
        errors["difficulty"] = "难度应为1–5的整数"

    for ref in draft.law_refs:
        if not ref.law.strip() or ref.article < 1:
            errors["law_refs"] = "法律依据须包含法律名称和正整数条号"
            break

    topic_error = next(filter(None, map(_topic_error, draft.topics)), None)
    if topic_error:
        errors["topics"] = topic_error
    return errors


def _topic_error(topic: str) -> str | None:
    if not topic.strip():
        return "知识点不能为空"
    if len(topic) > MAX_TOPIC_CHARS:
        return f"知识点「{clip(topic)}」超过{MAX_TOPIC_CHARS}字"
    if "\n" in topic or "\r" in topic:
        return f"知识点「{clip(topic)}」不能换行"
    if any(sep in topic for sep in TOPIC_SEPARATORS):
        # A separator would split the topic in two on the next import.
        return f"知识点「{clip(topic)}」不能包含分隔符 | , ， 、 ;"
    return None


def clean_draft(draft: QuestionDraft) -> QuestionDraft:
    """The stored form: no-break spaces as spaces, \n line ends, texts trimmed, trailing
    empty choices and repeated entries dropped, answer sorted."""

    def tidy(text: str) -> str:
        return text.replace("\xa0", " ").replace("\r\n", "\n").replace("\r", "\n").strip()

    choices = [tidy(c) for c in draft.choices]
    while choices and not choices[-1]:
        choices.pop()
    if draft.type in TYPES and (fixed := of(draft.type).fixed_choices()) is not None:
        choices = fixed
    return replace(
        draft,
        stem=tidy(draft.stem),
        choices=choices,
        answer=sorted(set(draft.answer)),
        blanks=[_unique(tidy(a) for a in alternatives) for alternatives in draft.blanks],
        explanation=tidy(draft.explanation),
        model_answer=tidy(draft.model_answer),
        marking_points=[[tidy(text), str(points).strip()] for text, points in draft.marking_points],
        law_refs=list(dict.fromkeys(draft.law_refs)),
        topics=_unique(tidy(t) for t in draft.topics),
    )


def _unique(items) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def fingerprint(draft: QuestionDraft) -> str:
    """Key for duplicate detection: same type, stem and set of choices up to
    width, case, whitespace and punctuation. A hex digest, so it indexes well."""
    parts = [draft.type, squash(draft.stem), *sorted(squash(c) for c in draft.choices)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


# ---------------------------------------------------------------- law references

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CN_DIGITS |= {"七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMBER = r"[0-9０-９零〇一二两三四五六七八九十百千]+"
_ITEM = rf"第[（(]?(?P<item>{_NUMBER})[）)]?项"
_ARTICLE = re.compile(
    rf"第(?P<article>{_NUMBER})条(?:之(?P<suffix>[一二三四五六七八九十]+))?"
    rf"(?:第(?P<paragraph>{_NUMBER})款)?(?:{_ITEM})?"
    r"|(?P<range>至|到|-|—|－|~|～)"
)
_FIRST_ARTICLE = re.compile(rf"第{_NUMBER}条")
# 第36条第1款、第2款 and 第9条第（一）项、第（二）项: more of the article just read.
_PARAGRAPH_ONLY = re.compile(rf"(?:第(?P<paragraph>{_NUMBER})款)?(?:{_ITEM})?")
_LAW_SEPARATORS = re.compile(r"[;；，,、]")
_VERSION = re.compile(r"^(?P<law>.*?)[（(](?P<version>[^（）()]*)[）)]$")


def chinese_number(text: str) -> int | None:
    """'三十六' -> 36, '一千二百六十' -> 1260, '36' or '３６' -> 36; None if not a number."""
    if text.isdecimal():
        return int(text)
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            if digit:  # two digits in a row, e.g. 三六: not a numeral we accept
                return None
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def chinese_numeral(number: int) -> str:
    """1 -> 一, 10 -> 十, 101 -> 一百零一, 1260 -> 一千二百六十, as statutes write them."""
    digits = "零一二三四五六七八九"
    if number < 10:
        return digits[number]
    parts, zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, number = divmod(number, value)
        if digit:
            parts.append(("零" if zero else "") + digits[digit] + unit)
            zero = False
        elif parts:
            zero = True
        if not number:
            break
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text


def _number_or_none(text: str | None) -> int | None:
    """The number of an optional group; 0 when it is there but not a number we accept."""
    if not text:
        return None
    return chinese_number(text) or 0


def parse_law_refs(text: str) -> tuple[list[LawRefDraft], str | None]:
    """Parse a 法律依据 cell such as `行政处罚法（2021年修订）第36条、第37条；宪法第5条`.

    Returns (refs, None) or ([], Chinese error). Blank text is ([], None).
    """
    text = re.sub(r"\s+", "", text.replace("\xa0", " "))
    if not text:
        return [], None
    refs: list[LawRefDraft] = []
    law: str | None = None
    version: str | None = None
    for piece in _LAW_SEPARATORS.split(text):
        if not piece:
            continue
        more = _PARAGRAPH_ONLY.fullmatch(piece)
        if refs and more and piece:
            paragraph, item = _number_or_none(more["paragraph"]), _number_or_none(more["item"])
            if paragraph == 0 or item == 0:
                return [], f"法律依据中的款项「{clip(piece)}」无法识别"
            last = refs[-1]
            refs.append(replace(last, paragraph=paragraph or last.paragraph, item=item))
            continue
        first = _FIRST_ARTICLE.search(piece)
        start = first.start() if first else len(piece)
        if start > 0:  # the piece names a law
            name = piece[:start].replace("《", "").replace("》", "")
            law, version = _split_version(name)
            if not law:
                return [], f"法律依据「{clip(piece)}」缺少法律名称"
            if start == len(piece):
                return [], f"法律依据缺少条款号：「{clip(piece)}」"
        elif law is None:
            return [], f"法律依据「{clip(piece)}」缺少法律名称"
        articles, error = _parse_articles(piece[start:])
        if error:
            return [], error
        refs.extend(LawRefDraft(law, version, *place) for place in articles)
    return list(dict.fromkeys(refs)), None


def _split_version(name: str) -> tuple[str, str | None]:
    name = name.strip()
    version = None
    match = _VERSION.match(name)
    if match:
        name, version = match["law"], match["version"] or None
    name = name.removeprefix("中华人民共和国")
    return name, version


def _parse_articles(text: str) -> tuple[list[tuple], str | None]:
    """(article, suffix, paragraph, item) of each reference in `第36条第1款、第37条` or a
    range `第36条至第38条` (whole articles only)."""
    articles: list[tuple] = []
    position, range_from = 0, None
    for match in _ARTICLE.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        if match["range"]:
            if not articles or range_from is not None or articles[-1][1:] != (0, None, None):
                return [], f"法律依据中的条款范围「{clip(text)}」无法识别"
            range_from = articles[-1][0]
            continue
        number = chinese_number(match["article"])
        if not number:
            return [], f"法律依据中的条号「{match['article']}」无法识别"
        place = [_number_or_none(match[name]) for name in _PLACES]
        if 0 in place:
            return [], f"法律依据中的条款「{clip(match[0])}」无法识别"
        suffix, paragraph, item = place
        if range_from is not None:
            if not range_from < number <= range_from + 200 or any(place):
                return [], f"法律依据中的条款范围「{clip(text)}」无法识别"
            articles.extend((n, 0, None, None) for n in range(range_from + 1, number + 1))
            range_from = None
        else:
            articles.append((number, suffix or 0, paragraph, item))
    if position != len(text) or range_from is not None or not articles:
        return [], f"法律依据中的条款「{clip(text)}」无法识别，应写作“第36条”"
    return articles, None


_PLACES = ("suffix", "paragraph", "item")


def group_law_refs(refs: list[LawRefDraft]) -> list[tuple[str, list[LawRefDraft]]]:
    """Runs of references to one law version, each with its name: 行政处罚法（2021年修订）."""
    groups: list[tuple[str, list[LawRefDraft]]] = []
    for ref in refs:
        name = f"{ref.law}（{ref.version}）" if ref.version else ref.law
        last = groups[-1][1][-1] if groups else None
        if last is not None and (last.law, last.version) == (ref.law, ref.version):
            groups[-1][1].append(ref)
        else:
            groups.append((name, [ref]))
    return groups


def format_law_refs(refs: list[LawRefDraft]) -> str:
    """Canonical text, e.g. `行政处罚法（2021年修订）第36条第1款、第37条；宪法第5条`."""
    return "；".join(
        name + "、".join(ref.place for ref in group) for name, group in group_law_refs(refs)
    )


# ---------------------------------------------------------------- answer notations

_TRUE_WORDS = {"正确", "对", "√", "✓", "✔", "T", "TRUE", "是", "Y", "YES", "对的", "正确的"}
_FALSE_WORDS = {"错误", "错", "×", "✗", "✘", "X", "F", "FALSE", "否", "N", "NO", "错的", "不正确"}


def true_false_value(text: str) -> bool | None:
    """正确/对/√/T/是 -> True, 错误/错/×/F/否 -> False, anything else None."""
    key = unicodedata.normalize("NFKC", text).strip().upper()
    if key in _TRUE_WORDS:
        return True
    if key in _FALSE_WORDS:
        return False
    return None


def parse_answer_letters(text: str) -> list[int] | None:
    """'ABD', 'A,B,D', 'a、b、d', 'A|B', 'B D', '选项ABD', 'ＡＢ' -> sorted 0-based indices.

    Any letter A–Z is returned (so the caller can say which one is missing); None when
    the text is not a list of letters.
    """
    key = unicodedata.normalize("NFKC", text).strip().upper()
    key = re.sub(r"^(选项|答案)[:：]?", "", key)
    key = re.sub(r"[\s,，、|｜;；/]+", "", key)
    if not re.fullmatch(r"[A-Z]+", key):
        return None
    return sorted({ord(ch) - ord("A") for ch in key})


# ---------------------------------------------------------------- shared by the importers


def finish(
    rows: list[ParsedRow], errors: list[RowError], refused: dict[int, list[str]] | None = None
) -> ParseResult:
    """Bundle a parse: errors in file order, and duplicates within the file."""
    first_seen: dict[str, int] = {}
    duplicates = []
    fingerprints = {}
    for parsed in rows:
        key = fingerprints[parsed.row] = fingerprint(parsed.draft)
        if key in first_seen:
            duplicates.append((parsed.row, first_seen[key]))
        else:
            first_seen[key] = parsed.row
    errors = sorted(errors, key=lambda e: e.row)
    return ParseResult(rows, errors, duplicates, refused or {}, fingerprints)


def check_draft(
    draft: QuestionDraft, row: int, labels: dict[str, str], reported: set[str]
) -> list[RowError]:
    """validate_draft as RowErrors; `reported` labels already have a parse error."""
    errors = []
    for name, message in validate_draft(draft).items():
        label = labels.get(name, FIELD_LABELS.get(name, name))
        if label not in reported:
            errors.append(RowError(row, label, message))
            reported.add(label)
    return errors


_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr"}
_BLOCK_TAGS |= {"h1", "h2", "h3", "h4", "h5", "h6"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, blocks as lines."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = (
        re.sub(r"[^\S\n]+", " ", line).strip() for line in "".join(extractor.parts).split("\n")
    )
    return "\n".join(line for line in lines if line)
