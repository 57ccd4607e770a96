"""Chinese numbered question banks as trainers keep them in Word and plain text.

    一、单项选择题（每题1分）
    1．行政处罚的追责时效一般为（B）。
    A．一年  B．二年  C．三年  D．五年
    2、下列属于行政处罚种类的是
    A、警告
    B、罚款
    正确答案：A
    【解析】……
    参考答案：1-5 ABCDA

Rules, each named in the preview note of the question it applied to:
- a numbered line (`1．` `1、` `12.` `第3题` `【题号:1024】`) starts a question; the number
  is dropped from the stem; but while a stem has no options or answer yet, a numbered
  line not numbered as the next question is a statement listed in that stem (`1、甲认为`);
- a section heading (`一、单项选择题`, `第二部分 判断题`) sets the type of the questions
  below it; a tag before the stem (`【多选题】`) sets one question's type; without either
  the type follows from the answer (several letters: 多选; 对/错: 判断; no options and a
  blank in the stem: 填空);
- options `A．` `A、` `A：` `A.` `(A)`, full-width or not, one per line or several on a
  line; a line that is none of these continues the option (or stem) above it;
- the key, first found of: an answer line (`正确答案：A`, `答案：A`, `【答案】A`); the answer
  key block at the end (`参考答案：1-5 ABCDA 6.AB 7.√`), matched by question number (the
  k-th key for number n goes to the k-th question numbered n, so numbering may restart
  per section); fill-in keys there as `21．十五日/15日`, one a line, under a 填空题
  heading or straight after a 填空题 section; a key block may close each section (a
  heading after it with questions, not keys, below is the body's next section); the
  answer written in the stem's parentheses `（A）`, which then becomes the blank `（ ）`;
- `解析：` `法律依据：` `知识点：` `难度：` lines (or `【解析】`) fill those fields.
- a case starts with `【案例】title` (or `案例一：`); the lines up to its first question are
  its material, and within it the lines after `【表格】` (up to `【表格结束】` or the first
  question) are its table, one row a line, cells split by | (Markdown tables read too);
  its sub-questions take `分值：2` lines (1 when none).
A question with an image (Word) is refused by number: its content is not all text.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from core.spreadsheets import ENCODING_ERROR, MAX_ROWS, decode_text, strip_control
from question_bank.drafts import (
    CaseHead,
    ParsedRow,
    ParseResult,
    QuestionDraft,
    RowError,
    check_draft,
    clean_draft,
    finish,
    parse_answer_letters,
    parse_law_refs,
    parse_table_text,
    true_false_value,
)
from question_bank.formats.template import (
    blanks_from_text,
    difficulty_value,
    points_value,
    split_topics,
    whole_cases,
)
from question_bank.types import (
    BLANK_MARKER,
    LETTERS,
    QUESTION_TYPES,
    TRUE_FALSE_CHOICES,
    clip,
    letter,
)

LAYOUT = "中文编号题库"
NOTHING_READ = (
    "文件中没有读出任何试题。每题应以题号开头，如「1．行政处罚的追责时效一般为（ ）。」，"
    "选项以「A．」「B．」开头，答案另起一行写作「答案：B」（或写在题干括号中，或在文末写"
    "「参考答案：1-5 ABCDA」）"
)

_D = "[0-9０-９]"
_SEP = "[.．、:：)）]"
_CN_NUMBER = "[一二三四五六七八九十]+"
_TYPE_WORDS = {
    "单项选择题": "single",
    "单项选择": "single",
    "单选题": "single",
    "单选": "single",
    "多项选择题": "multiple",
    "多项选择": "multiple",
    "多选题": "multiple",
    "多选": "multiple",
    "不定项选择题": "indefinite",
    "不定项选择": "indefinite",
    "不定项": "indefinite",
    "判断题": "true_false",
    "判断": "true_false",
    "是非题": "true_false",
    "判断正误题": "true_false",
    "填空题": "fill_blank",
    "填空": "fill_blank",
}
# Kinds a bank file may hold that the platform does not take; their questions are refused.
_UNSUPPORTED_WORDS = [
    "简答题",
    "论述题",
    "案例分析题",
    "案例题",
    "问答题",
    "名词解释",
    "材料分析题",
]
_KIND_PATTERN = "|".join(
    sorted([*_TYPE_WORDS, *_UNSUPPORTED_WORDS], key=len, reverse=True)  # longest first
)
_SECTION_HEAD = (
    rf"^(?:第?({_CN_NUMBER})\s*(?:部分|节|章|大题)?\s*[、.．:：]?|[（(]({_CN_NUMBER})[）)])?"
    rf"\s*({_KIND_PATTERN})\s*(?:[（(][^）)]*[）)])?\s*[:：]?"
)
_SECTION = re.compile(_SECTION_HEAD + r"\s*$")
_SECTION_PREFIX = re.compile(_SECTION_HEAD)
# `1.5倍` is a number, not question 1; `2．1804年的…` and `33、2010年…` are questions.
_QUESTION = re.compile(
    rf"^(?:第\s*({_D}+)\s*题\s*{_SEP}?|({_D}{{1,6}})\s*(?:\.(?!{_D})|[．、:：)）])|"
    rf"[【\[]\s*(?:(?:题号|编号|ID|id)\s*[:：]?\s*)?({_D}+)\s*[】\]])\s*(.*)$"
)
# A case (案例/材料) starts with its head: 【案例】title, 【案例一】, 案例一：title, 【材料】;
# the lines up to its first numbered question are its material; the questions after it are
# its sub-questions until the next case, a section heading or 【案例结束】.
_CASE_HEAD = re.compile(
    rf"^(?:[【\[]\s*(?:案例|材料)\s*({_CN_NUMBER}|{_D}+)?\s*[】\]]"
    rf"|(?:案例|材料)\s*({_CN_NUMBER}|{_D}+)\s*[:：、.．])\s*(.*)$"
)
_CASE_END = re.compile(r"^[【\[]\s*(?:案例|材料)\s*(?:结束|完)\s*[】\]]$")
# A case's table in a text file: the lines after 【表格】 in its material, one row a line,
# cells split by | (or a tab), the first row the header, up to the first question or
# 【表格结束】. Markdown's `| a | b |` and its `|---|---|` line read the same.
_TABLE_HEAD = re.compile(r"^[【\[]\s*表格\s*[】\]]$")
_TABLE_END = re.compile(r"^[【\[]\s*表格\s*(?:结束|完)\s*[】\]]$")
_TABLE_RULE = re.compile(r"^[\s|｜:：\-—–]+$")
#: section words under which cases stand: their sub-questions take their own types
_CASE_SECTIONS = {"案例分析题", "案例题", "材料分析题"}
MAX_CASE_TITLE = 60
_TAG = re.compile(rf"^[【\[(（]\s*({_KIND_PATTERN})\s*[】\])）]\s*")
_OPTION_LETTER = "[A-HＡ-Ｈ]"
_OPTION = re.compile(rf"^(?:({_OPTION_LETTER})\s*{_SEP}|[（(]({_OPTION_LETTER})[）)])\s*(.*)$")
# Where the next option starts on a line holding several: after whitespace.
_NEXT_OPTION = re.compile(
    rf"[ \t\u3000\xa0]+(?:({_OPTION_LETTER})\s*{_SEP}|[（(]({_OPTION_LETTER})[）)])"
)
_ANSWER_WORDS = "正确答案|参考答案|标准答案|答案"
_LABELLED = r"^(?:【\s*(?:{0})\s*】|(?:{0})\s*[:：])\s*(.*)$"
_ANSWER = re.compile(_LABELLED.format(_ANSWER_WORDS))
_KEY_HEADING = re.compile(
    rf"^(?:附\s*[:：]?\s*)?[【\[]?(?:{_ANSWER_WORDS}|答案与解析|参考答案及解析)[】\]]?\s*[:：]?\s*$"
)
_FIELDS = {
    "explanation": re.compile(_LABELLED.format("解析|答案解析|试题解析|解答")),
    "law_refs": re.compile(_LABELLED.format("法律依据|依据|出处")),
    "topics": re.compile(_LABELLED.format("知识点|考点")),
    "difficulty": re.compile(_LABELLED.format("难度|难易程度")),
    "points": re.compile(_LABELLED.format("分值|本题分值")),
}
_TRUE_FALSE_MARKS = "√×✓✗✔✘对错"
_KEY_VALUE = rf"(?:[A-H]+|正确|错误|[{_TRUE_FALSE_MARKS}]+)"
# One entry of an answer key block, on NFKC text: `1-5 ABCDA`, `6.AB`, `7 √`, `8、对`.
_KEY_ENTRY = re.compile(rf"(\d+)\s*(?:[-—–~～至]\s*(\d+))?\s*[.、:)]?\s*({_KEY_VALUE})(?![A-Za-z])")
_KEY_GAP = re.compile(r"[\s,，;；、]*")
_FILL_KEY = re.compile(r"(\d+)\s*[.、:)]\s*(\S.*)")
_TRAILING_ANSWER = re.compile(
    rf"[ \t\u3000]+(?:【\s*(?:{_ANSWER_WORDS})\s*】|(?:{_ANSWER_WORDS})\s*[:：])\s*"
    rf"({_OPTION_LETTER}+|正确|错误|[{_TRUE_FALSE_MARKS}])\s*$"
)
_STEM_KEY = rf"{_OPTION_LETTER}(?:[ ,，、]*{_OPTION_LETTER})*|正确|错误|[{_TRUE_FALSE_MARKS}]"
_STEM_ANSWER = re.compile(rf"[（(][ \u3000\xa0]*({_STEM_KEY})[ \u3000\xa0]*[）)]")


@dataclass
class Line:
    number: int  # line of a text file, paragraph of a Word document
    text: str
    image: bool = False  # a Word paragraph holding a picture or embedded object
    #: a row of a Word table, as its cells' texts: within a case's material it is a row of
    #: the case's table; elsewhere nothing (the cells' paragraphs follow as lines)
    cells: list[str] | None = None
    #: a paragraph inside a Word table (skipped when its table is a case's table)
    in_table: bool = False


@dataclass
class _Question:
    start: int
    number: int | None
    label: str  # how messages name it: 第 12 题
    section: str | None  # type word of the heading above, as written
    part: str | None  # which part of the file the heading above names (see _part)
    stem: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    tag: str | None = None
    answer: tuple[str, str] | None = None  # (text, rule)
    fields: dict[str, list[str]] = field(default_factory=dict)
    last: str = "stem"  # what a plain line continues: stem, option or a field name
    image: bool = False
    notes: list[str] = field(default_factory=list)
    case: CaseHead | None = None


def parse_numbered(data: bytes) -> ParseResult:
    """A plain-text bank (UTF-8 or GB18030/GBK)."""
    text = decode_text(data)
    if text is None:
        return ParseResult([], [RowError(0, "", ENCODING_ERROR)], [])
    text = strip_control(text).removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return parse_lines([Line(n, line) for n, line in enumerate(text.split("\n"), start=1)])


def parse_lines(lines: list[Line]) -> ParseResult:
    questions: list[_Question] = []
    keys = _KeyBlock()
    stray: list[RowError] = []
    section: str | None = None
    part: str | None = None
    question: _Question | None = None
    in_key_block = False
    case: CaseHead | None = None
    cases: list[CaseHead] = []
    in_material = in_table = word_table = False

    def start_question(number: int | None, label: str, line: Line) -> _Question:
        started = _Question(line.number, number, label, section, part, image=line.image)
        started.case = case
        questions.append(started)
        return started

    for line in lines:
        if line.cells is not None:  # a Word table's row: the case's table, in its material
            word_table = in_material
            if word_table:
                case.table.append([cell.strip() for cell in line.cells])
            continue
        if line.in_table and word_table:
            continue  # the table's paragraphs: read as its rows above
        word_table = False
        text = line.text.replace("\xa0", " ").strip()
        if not text and not line.image:
            continue
        if in_key_block:
            # The key block ends at the first line that is neither a heading nor keys.
            if keys.read(text):
                continue
            in_key_block = False
            if keys.pending:  # 参考答案 … 五、判断题 then questions: the body's heading
                section, part, keys.part = keys.pending[3], _part(keys.pending), None
                keys.pending = None
        heading = _SECTION.match(text)
        if heading:
            section, part, question = heading[3], _part(heading), None
            case, in_material = None, False  # a heading ends a case
            continue
        if _CASE_END.match(text):
            case, question, in_material = None, None, False
            continue
        head = _CASE_HEAD.match(text)
        if head:
            rest = head[3].strip()
            title = rest if rest and len(rest) <= MAX_CASE_TITLE else ""
            case = CaseHead(line.number, title or f"案例{head[1] or head[2] or len(cases) + 1}")
            if rest and not title:
                case.material.append(rest)
            cases.append(case)
            question, in_material, in_table = None, True, False
            continue
        if in_material:
            if _TABLE_HEAD.match(text) or _TABLE_END.match(text):
                in_table = bool(_TABLE_HEAD.match(text))
                continue
            if not _QUESTION.match(text):
                if not in_table:
                    case.material.append(text)
                elif not _TABLE_RULE.match(text):
                    case.table.extend(parse_table_text(text.strip("|｜")))
                continue
            in_material = in_table = False
        if _KEY_HEADING.match(text):
            in_key_block, question, keys.part = True, None, None
            # Keys listed straight after a 填空题 section may be words: `1．十五日`.
            keys.fill = _TYPE_WORDS.get(section or "") == "fill_blank"
            continue
        answer = _ANSWER.match(text)
        if answer and keys.read(answer[1], whole=True):
            in_key_block, question = True, None
            continue
        trailing = _TRAILING_ANSWER.search(text) if not answer else None
        if trailing:  # D．五年  答案：B
            text = text[: trailing.start()].strip()
        start = _QUESTION.match(text)
        if start and not _lists_in_stem(question, start):
            number = int(unicodedata.normalize("NFKC", start[1] or start[2] or start[3]))
            question = start_question(number, f"第 {number} 题", line)
            if start[3]:
                question.notes.append(f"去掉了题前编号「{start[3]}」")
            _add_stem(question, start[4])
            _take_trailing(question, trailing)
            continue
        if question is None:
            if text and not _OPTION.match(text) and not answer:
                # Unnumbered questions: a line after a heading or an answer starts one.
                question = start_question(None, f"第 {line.number} 行的题目", line)
                _add_stem(question, text)
            elif text:
                stray.append(RowError(line.number, "", f"「{clip(text)}」前面没有题目"))
            continue
        question.image = question.image or line.image
        if answer:
            question.answer = (answer[1].strip(), f"答案行「{clip(text, 20)}」")
            question.last = "answer"
            continue
        label = next((name for name, rx in _FIELDS.items() if rx.match(text)), None)
        if label:
            question.fields.setdefault(label, []).append(_FIELDS[label].match(text)[1].strip())
            question.last = label
            continue
        if _add_options(question, text):
            _take_trailing(question, trailing)
            continue
        _take_trailing(question, trailing)
        if question.last == "stem":
            question.stem.append(text)
        elif question.last == "option":
            _continue_option(question, text)
        elif question.last in question.fields:
            question.fields[question.last].append(text)
        else:  # text after the answer line that is no field: a new, unnumbered question
            question = start_question(None, f"第 {line.number} 行的题目", line)
            _add_stem(question, text)

    keys.give(questions)
    if not questions and not stray:
        return ParseResult([], [RowError(0, "", NOTHING_READ)], [])
    if len(questions) > MAX_ROWS:
        message = (
            f"文件有 {len(questions)} 道题，超过上限 {MAX_ROWS} 道，未导入。请分成几个文件上传"
        )
        return ParseResult([], [RowError(0, "", message)], [])
    rows: list[ParsedRow] = []
    errors = list(stray)
    refused: dict[int, list[str]] = {}
    for question in questions:
        draft, notes, found = _build(question)
        if not found:
            found = _fields_into(draft, question)
        points, problem = _points(question)
        if not found and problem:
            found = [RowError(question.start, "分值", f"{question.label}：{problem}")]
        if not found:
            draft = clean_draft(draft)
            found = check_draft(draft, question.start, {}, set())
            for error in found:
                error.message = f"{question.label}：{error.message}"
        if found:
            errors.extend(found)
            refused[question.start] = _template_cells(question)
        else:
            if question.case is not None:
                notes.append(f"案例「{question.case.title}」的小题，{points} 分")
            rows.append(ParsedRow(question.start, draft, notes, question.case, points))
    members = [(question.start, question.case) for question in questions if question.case]
    rows, case_errors = whole_cases(cases, members, rows, refused, "【案例】行之后、第一道小题之前")
    return finish(rows, errors + case_errors, refused)


def _points(question: _Question) -> tuple[Decimal | None, str | None]:
    """A sub-question's points (分值：2); 1 when not written. Only cases use them."""
    if question.case is None:
        return None, None
    return points_value(" ".join(question.fields.get("points", [])))


def _template_cells(question: _Question) -> list[str]:
    """A refused question as template cells, as written (the trainer fixes them there)."""
    answer = question.answer[0] if question.answer else ""
    word, _ = _declared_type(question)
    kind = _TYPE_WORDS.get(word or "")
    if kind is None or kind == "indefinite":
        letters = parse_answer_letters(answer) if question.options else None
        truth = true_false_value(answer)
        kind = (
            ("multiple" if len(letters) > 1 else "single")
            if letters
            else ("true_false" if truth is not None and not question.options else None)
        )
    fields = {name: "\n".join(parts).strip() for name, parts in question.fields.items()}
    options = (question.options + [""] * len(LETTERS))[: len(LETTERS)]
    return [
        QUESTION_TYPES.get(kind or "", ""),
        "\n".join(question.stem).strip(),
        *options,
        answer,
        *(fields.get(name, "") for name in ("explanation", "difficulty", "law_refs", "topics")),
        question.case.title if question.case else "",
        fields.get("points", ""),
    ]


def _lists_in_stem(question: _Question | None, start: re.Match) -> bool:
    """Whether a numbered line is a statement listed in the stem above (`1、甲认为…`)
    rather than the next question: the stem has no options or answer yet, and the number
    is not the one after its own."""
    if question is None or question.number is None or start[3] or not question.stem:
        return False
    if question.options or question.answer is not None:
        return False
    number = int(unicodedata.normalize("NFKC", start[1] or start[2]))
    return number != question.number + 1


def _take_trailing(question: _Question, trailing: re.Match | None) -> None:
    if trailing and question.answer is None:
        question.answer = (trailing[1], f"行尾答案「{clip(trailing[0].strip(), 20)}」")


def _note(question: _Question, note: str) -> None:
    if note not in question.notes:
        question.notes.append(note)


def _add_stem(question: _Question, text: str) -> None:
    tag = _TAG.match(text)
    if tag:
        question.tag = tag[1]
        text = text[tag.end() :]
    if text.strip() and not _add_options(question, text.strip()):
        question.stem.append(text.strip())


def _add_options(question: _Question, text: str) -> bool:
    """Read `text` as one or more options if it starts with the next option's letter."""
    match = _OPTION.match(text)
    if not match or not question.stem:
        return False
    expected = letter(len(question.options))
    if _letter(match[1] or match[2]) != expected:
        return False
    pieces, position, text_start = [], 0, match.start(3)
    for following in _NEXT_OPTION.finditer(text, match.start(3)):
        next_letter = _letter(following[1] or following[2])
        if next_letter == letter(len(question.options) + len(pieces) + 1):
            pieces.append(text[text_start : following.start()])
            text_start = following.end()
            position = following.end()
    pieces.append(text[max(text_start, position) :])
    if len(pieces) > 1:
        _note(question, "一行多个选项")
    question.options.extend(piece.strip() for piece in pieces)
    question.last = "option"
    return True


def _continue_option(question: _Question, text: str) -> None:
    """A line continuing the last option; the next options may follow on it
    (`……应当负刑事责任。  B．在刑事责任年龄……`)."""
    expected = letter(len(question.options))
    following = next(
        (m for m in _NEXT_OPTION.finditer(text) if _letter(m[1] or m[2]) == expected), None
    )
    head = text[: following.start()] if following else text
    question.options[-1] += "\n" + head.strip()
    _note(question, "选项跨行")
    if following:
        _add_options(question, text[following.start() :].strip())


def _letter(text: str) -> str:
    return unicodedata.normalize("NFKC", text).upper()


def _part(heading: re.Match) -> str:
    """What names a part of the file in both the body and the key block: its ordinal
    (一、 二、 …) when the heading has one, else its type (单选题 and 单项选择题 agree)."""
    ordinal = heading[1] or heading[2]
    return ordinal or _TYPE_WORDS.get(heading[3], heading[3])


@dataclass
class _Key:
    part: str | None  # the heading it was listed under, if any
    value: str
    written: str
    used: bool = False


@dataclass
class _KeyBlock:
    """The answer key block: `1-5 ABCDA` lines, under headings naming parts of the file;
    under a 填空题 heading (or straight after a 填空题 section), also `21．十五日` lines,
    one question a line."""

    part: str | None = None
    fill: bool = False  # keys here may be words (a 填空题 part), not only letters
    #: a heading read alone last: if no keys follow, it was the body's next section
    pending: re.Match | None = None
    #: question number -> its keys in file order
    keys: dict[int, list[_Key]] = field(default_factory=dict)

    def read(self, text: str, whole: bool = False) -> bool:
        """Read a key line (after 参考答案： when `whole`); False, reading nothing, when
        it is not one. A heading alone, or before keys, names the part that follows."""
        normal = unicodedata.normalize("NFKC", text)
        heading = None if whole else _SECTION_PREFIX.match(normal)
        part, fill = self.part, self.fill and not whole
        if heading:  # 一、单项选择题 1-5 ABCDA
            part, fill = _part(heading), _TYPE_WORDS.get(heading[3]) == "fill_blank"
            normal = normal[heading.end() :]
        if _KEY_GAP.fullmatch(normal):
            if heading:
                self.part, self.fill, self.pending = part, fill, heading
            return bool(heading)
        entries = _letter_keys(normal.upper())
        if entries is None and fill:
            entries = _fill_keys(normal)
        if entries is None:
            return False
        self.part, self.fill, self.pending = part, fill, None
        for number, value, written in entries:
            self.keys.setdefault(number, []).append(_Key(part, value, written))
        return True

    def give(self, questions: list[_Question]) -> None:
        """Give each numbered question without an answer its key: the first unused one for
        its number listed under its part's heading; else the first unused one listed under
        no heading of a part of the file, so that with numbering restarting per part the
        k-th key for n goes to the k-th question numbered n."""
        body_parts = {question.part for question in questions if question.part}
        for question in questions:
            if question.answer is not None or question.number is None:
                continue
            pool = self.keys.get(question.number, [])
            key = next(
                (k for k in pool if not k.used and k.part and k.part == question.part), None
            ) or next((k for k in pool if not k.used and k.part not in body_parts), None)
            if key is not None:
                key.used = True
                question.answer = (key.value, f"文末参考答案「{key.written}」")


def _letter_keys(normal: str) -> list[tuple[int, str, str]] | None:
    """(number, key, as written) of `1-5 ABCDA 6.AB 7 √`; None if the line is not keys."""
    entries, position = [], _KEY_GAP.match(normal).end()
    while position < len(normal):
        entry = _KEY_ENTRY.match(normal, position)
        if entry is None:
            return None
        first, last, value = int(entry[1]), entry[2], entry[3]
        if last is None:
            entries.append((first, value, entry[0].strip()))
        else:
            count = int(last) - first + 1
            marks = re.findall(rf"[A-H]|[{_TRUE_FALSE_MARKS}]", value)
            if count < 1 or count != len(marks):
                return None
            entries.extend((first + i, mark, entry[0].strip()) for i, mark in enumerate(marks))
        position = _KEY_GAP.match(normal, entry.end()).end()
    return entries


def _fill_keys(normal: str) -> list[tuple[int, str, str]] | None:
    """`21．十五日/15日` under a 填空题 heading; a line with a blank is a question, not a key."""
    entry = _FILL_KEY.fullmatch(normal.strip())
    if entry is None or BLANK_MARKER.search(entry[2]):
        return None
    return [(int(entry[1]), entry[2].strip(), clip(entry[0].strip(), 20))]


def _could_be_key(text: str, options: int) -> bool:
    """Letters in the stem's parentheses are a key only as a key is written: distinct,
    in order, each an option the question has."""
    letters = [ch for ch in unicodedata.normalize("NFKC", text).upper() if "A" <= ch <= "Z"]
    if not letters:
        return True  # 对/错, √/×
    indices = [ord(ch) - ord("A") for ch in letters]
    in_order = all(a < b for a, b in pairwise(indices))
    return in_order and (options == 0 or indices[-1] < options)


def _same_key(first: str, second: str) -> bool:
    letters = parse_answer_letters(first)
    if letters is not None and letters == parse_answer_letters(second):
        return True
    truth = true_false_value(first)
    return truth is not None and truth == true_false_value(second)


def _declared_type(question: _Question) -> tuple[str | None, str | None]:
    """(type word, its source) from the question's tag, else its section heading."""
    if question.tag:
        return question.tag, f"题前标注「{question.tag}」"
    if question.case is not None and question.section in _CASE_SECTIONS:
        return None, None  # a case's sub-questions: their own type, from their answer
    if question.section:
        return question.section, f"标题「{question.section}」"
    return None, None


def _build(question: _Question) -> tuple[QuestionDraft | None, list[str], list[RowError]]:
    def refuse(column: str, message: str):
        return None, [], [RowError(question.start, column, f"{question.label}：{message}")]

    notes = list(question.notes)
    if question.image:
        return refuse("题干", "含有图片或嵌入对象，无法导入；请把图中内容写成文字后再导入")
    stem = "\n".join(question.stem).strip()
    if not stem:
        return refuse("题干", "缺少题干")
    word, source = _declared_type(question)
    kind = _TYPE_WORDS.get(word) if word else None
    if word and kind is None:
        return refuse("题型", f"不支持的题型「{word}」（仅支持单选、多选、判断、填空）")
    options = question.options

    answer_text, rule = question.answer or ("", "")
    in_stem = _STEM_ANSWER.search(stem) if kind != "fill_blank" else None
    if in_stem and not _could_be_key(in_stem[1], len(question.options)):
        in_stem = None  # （FCFE）: an abbreviation, not a key
    if in_stem:
        # The key must not stay in the stem learners read: it becomes the blank （ ）.
        stem = stem[: in_stem.start()] + "（ ）" + stem[in_stem.end() :]
        if not answer_text:
            answer_text, rule = in_stem[1], f"题干括号中的答案「{in_stem[0]}」"
        elif _same_key(in_stem[1], answer_text):
            notes.append(f"题干括号中的答案「{in_stem[0]}」已改为（ ）")
        else:
            return refuse(
                "答案",
                f"题干括号中的答案「{in_stem[0]}」与{rule}不一致，请核对后只保留一处答案",
            )
    if not answer_text:
        return refuse(
            "答案",
            "缺少答案：应有「答案：A」行、题干括号中的答案（A）或文末的参考答案（如 1-5 ABCDA）",
        )
    notes.append(f"答案取自{rule}")

    tf_options = len(options) == 2 and all(true_false_value(o) is not None for o in options)
    indices = parse_answer_letters(answer_text)
    truth = true_false_value(answer_text)
    if kind == "fill_blank" or (kind is None and not options and truth is None and indices is None):
        if kind is None and not BLANK_MARKER.search(stem):
            return refuse("答案", f"答案「{clip(answer_text)}」不是选项字母，题目也没有选项")
        notes.append(f"题型取自{source}" if source else "无选项、题干有空：按填空题")
        blanks = blanks_from_text(answer_text, [], stem)
        return QuestionDraft("fill_blank", stem, [], [], blanks), notes, []

    if kind == "true_false" or (
        kind is None and (tf_options or (not options and truth is not None))
    ):
        if indices is not None and len(indices) == 1 and indices[0] < len(options):
            truth = true_false_value(options[indices[0]])
        elif indices == [0] or indices == [1]:
            truth = truth if truth is not None else indices == [0]
        if truth is None:
            return refuse("答案", f"判断题答案「{clip(answer_text)}」应为 对/错、√/× 或 正确/错误")
        notes.append(f"题型取自{source}" if source else "答案为对错：按判断题")
        if in_stem and stem.endswith("（ ）"):  # 宪法是根本法。（√）: no blank to keep
            stem = stem.removesuffix("（ ）").rstrip()
        choices = list(TRUE_FALSE_CHOICES)
        return QuestionDraft("true_false", stem, choices, [0 if truth else 1], []), notes, []

    if not options:
        return refuse("选项", "没有选项（选项行应以 A． A、 A. 等开头）")
    if indices is None:
        return refuse("答案", f"答案「{clip(answer_text)}」应为选项字母，如 A 或 ABD")
    if len(options) > len(LETTERS):
        return refuse("选项", f"选项最多{len(LETTERS)}个（现有{len(options)}个）")
    if kind == "indefinite" or kind is None:
        kind = "multiple" if len(indices) > 1 else "single"
        notes.append(
            f"题型取自{source}，按答案个数定为{'多选' if kind == 'multiple' else '单选'}"
            if source
            else f"按答案个数定为{'多选' if kind == 'multiple' else '单选'}"
        )
    else:
        notes.append(f"题型取自{source}")
    return QuestionDraft(kind, stem, list(options), indices, []), notes, []


def _fields_into(draft: QuestionDraft, question: _Question) -> list[RowError]:
    """Fill explanation, law references, topics and difficulty from their lines."""
    errors = []
    values = {name: "\n".join(parts).strip() for name, parts in question.fields.items()}
    draft.explanation = values.get("explanation", "")
    refs, message = parse_law_refs(values.get("law_refs", ""))
    if message:
        errors.append(RowError(question.start, "法律依据", f"{question.label}：{message}"))
    draft.law_refs = refs
    draft.topics = split_topics(values.get("topics", ""))
    difficulty, message = difficulty_value(values.get("difficulty", ""))
    if message:
        errors.append(RowError(question.start, "难度", f"{question.label}：{message}"))
    draft.difficulty = difficulty
    return errors
