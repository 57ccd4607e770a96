"""The Chinese bank template (题库导入模板) as .xlsx and .csv.

Export writes the canonical header below; import also reads the layouts trainers already
have: header synonyms, a title row above the header, bare A…H option columns, all options
in one cell, answers written in the many ways people write them.
"""

import re
import unicodedata

from core.spreadsheets import (
    Sheet,
    SpreadsheetError,
    read_csv,
    read_xlsx,
    strip_control,
    write_csv,
    write_xlsx,
)
from question_bank.drafts import (
    FIELD_LABELS,
    ParsedRow,
    ParseResult,
    QuestionDraft,
    RowError,
    check_draft,
    clean_draft,
    finish,
    format_law_refs,
    parse_answer_letters,
    parse_law_refs,
    true_false_value,
)
from question_bank.types import (
    LETTERS,
    QUESTION_TYPES,
    TRUE_FALSE_CHOICES,
    TYPES,
    clip,
    count_blanks,
    letter,
    letters_span,
)

HEADER = [
    "题型",
    "题干",
    *(f"选项{x}" for x in LETTERS),
    "答案",
    "解析",
    "难度",
    "法律依据",
    "知识点",
]
REQUIRED = {"type": "题型", "stem": "题干", "answer": "答案"}

_SYNONYMS = {
    "type": ["题型", "题目类型", "试题类型"],
    "stem": ["题干", "问题内容", "题目内容", "题目", "试题内容", "问题"],
    "answer": ["答案", "正确答案", "正确选项", "参考答案", "标准答案"],
    "explanation": ["解析", "题目解析", "答案解析", "试题解析"],
    "difficulty": ["难度", "难易程度", "难度等级"],
    "topics": ["知识点", "标签", "考点"],
    "law_refs": ["法律依据", "依据", "出处"],
    "options": ["选项"],  # all options in one cell
}
_COLUMN_FIELDS = {name: key for key, names in _SYNONYMS.items() for name in names}
for _x in LETTERS:
    _COLUMN_FIELDS[f"选项{_x}"] = _COLUMN_FIELDS[_x] = f"option_{_x}"

_TYPE_NAMES = {
    "single": ["单选", "单选题", "单项选择", "单项选择题"],
    "multiple": [
        "多选",
        "多选题",
        "多项选择",
        "多项选择题",
        "不定项",
        "不定项选择",
        "不定项选择题",
    ],
    "true_false": ["判断", "判断题"],
    "fill_blank": ["填空", "填空题"],
}
_TYPE_BY_NAME = {name: key for key, names in _TYPE_NAMES.items() for name in names}

_DIFFICULTY_WORDS = {"简单": 2, "容易": 2, "易": 2, "中等": 3, "一般": 3, "中": 3}
_DIFFICULTY_WORDS |= {"困难": 4, "较难": 4, "难": 4}

_OPTION_PREFIX = re.compile(r"^\s*([A-Ha-hＡ-Ｈａ-ｈ])\s*[.．、:：)）]\s*")
# Which column a validate_draft field is reported against.
_FIELD_COLUMNS = {
    "type": "type",
    "stem": "stem",
    "choices": "options",
    "answer": "answer",
    "blanks": "answer",
    "explanation": "explanation",
    "difficulty": "difficulty",
    "law_refs": "law_refs",
    "topics": "topics",
}
_HEADER_SCAN_ROWS = 20


# ---------------------------------------------------------------- import


def parse_xlsx(data: bytes) -> ParseResult:
    try:
        sheets = read_xlsx(data)
    except SpreadsheetError as error:
        return _file_error(error.message)
    return parse_table(sheets)


def parse_csv(data: bytes) -> ParseResult:
    tables = []
    for delimiter in (",", "\t", ";"):
        try:
            rows = read_csv(data, delimiter)
        except SpreadsheetError as error:
            return _file_error(error.message)
        if find_header(rows):
            return parse_table([rows])
        tables.append(rows)
    return parse_table(tables[:1])


def _file_error(message: str, row: int = 0) -> ParseResult:
    return ParseResult(rows=[], errors=[RowError(row, "", message)], duplicates=[])


def _normalise_header(value) -> str:
    text = unicodedata.normalize("NFKC", _cell_text(value))
    text = re.sub(r"[(（\[【].*?[)）\]】]|[*＊]", "", text)  # 题干（必填）, 答案*
    return re.sub(r"\s+", "", text).upper()


def _header_columns(row) -> dict[str, tuple[int, str]]:
    """Field -> (column index, header text as the user wrote it)."""
    columns: dict[str, tuple[int, str]] = {}
    for index, value in enumerate(row):
        key = _COLUMN_FIELDS.get(_normalise_header(value))
        if key and key not in columns:
            columns[key] = (index, _cell_text(value))
    return columns


def find_header(rows) -> tuple[int, dict[str, tuple[int, str]]] | None:
    for index, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        columns = _header_columns(row)
        if "type" in columns and "stem" in columns:
            return index, columns
    return None


def parse_table(sheets: list[list]) -> ParseResult:
    for rows in sheets:
        found = find_header(rows)
        if found:
            break
    else:
        return _file_error(_missing_header_message(sheets), row=1)
    header_index, columns = found
    missing = [label for key, label in REQUIRED.items() if key not in columns]
    if missing:
        return _file_error("缺少必填列：" + "、".join(missing), row=header_index + 1)

    parsed, errors, refused = [], [], {}
    for index in range(header_index + 1, len(rows)):
        cells = [_cell_text(value) for value in rows[index]]
        if not any(cells):
            continue
        draft, row_errors, notes = _read_row(cells, columns, index + 1)
        errors.extend(row_errors)
        if draft is not None and not row_errors:
            parsed.append(ParsedRow(index + 1, draft, notes))
        else:
            refused[index + 1] = _template_cells(cells, columns)
    return finish(parsed, errors, refused)


def _template_cells(cells: list[str], columns) -> list[str]:
    """A row of any accepted layout as the cells of the canonical HEADER."""

    def cell(key: str) -> str:
        index = columns.get(key, (None,))[0]
        return cells[index] if index is not None and index < len(cells) else ""

    options, _ = _read_options(columns, cell)
    return [
        cell("type"),
        cell("stem"),
        *(options + [""] * len(LETTERS))[: len(LETTERS)],
        *(cell(key) for key in ("answer", "explanation", "difficulty", "law_refs", "topics")),
    ]


def _missing_header_message(sheets) -> str:
    for rows in sheets:
        for row in rows[:_HEADER_SCAN_ROWS]:
            columns = _header_columns(row)
            if len(columns) >= 2:
                missing = [label for key, label in REQUIRED.items() if key not in columns]
                return "缺少必填列：" + "、".join(missing)
    return "未找到表头行：表头应包含「题型」「题干」「答案」列"


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\xa0", " ").replace("\r\n", "\n").replace("\r", "\n")
    return strip_control(text).strip()


def _read_row(
    cells: list[str], columns, row: int
) -> tuple[QuestionDraft | None, list[RowError], list[str]]:
    """The row's draft, its errors, and notes for the preview on what was changed."""

    def cell(key: str) -> str:
        index = columns.get(key, (None,))[0]
        return cells[index] if index is not None and index < len(cells) else ""

    labels = {
        name: columns[key][1] if key in columns else FIELD_LABELS[name]
        for name, key in _FIELD_COLUMNS.items()
    }
    errors: list[RowError] = []

    type_text = cell("type")
    kind = _TYPE_BY_NAME.get(re.sub(r"\s+", "", type_text))
    if not type_text:
        return None, [RowError(row, labels["type"], "题型不能为空")], []
    if kind is None:
        message = f"不支持的题型「{clip(type_text)}」（仅支持单选、多选、判断、填空）"
        return None, [RowError(row, labels["type"], message)], []

    options, notes = _read_options(columns, cell)
    answer_text = cell("answer")
    choices: list[str] = []
    answer: list[int] = []
    blanks: list[list[str]] = []
    if kind in ("single", "multiple"):
        choices = options
        answer, message = _choice_answer(answer_text, options, kind)
        if message:
            errors.append(RowError(row, labels["answer"], message))
    elif kind == "true_false":
        choices = list(TRUE_FALSE_CHOICES)
        answer, message = _true_false_answer(answer_text, options)
        if message:
            errors.append(RowError(row, labels["answer"], message))
    else:
        blanks = blanks_from_text(answer_text, options, cell("stem"))

    difficulty, message = difficulty_value(cell("difficulty"))
    if message:
        errors.append(RowError(row, labels["difficulty"], message))
    law_refs, message = parse_law_refs(cell("law_refs"))
    if message:
        errors.append(RowError(row, labels["law_refs"], message))

    draft = QuestionDraft(
        type=kind,
        stem=cell("stem"),
        choices=choices,
        answer=answer,
        blanks=blanks,
        explanation=cell("explanation"),
        difficulty=difficulty,
        law_refs=law_refs,
        topics=split_topics(cell("topics")),
    )
    draft = clean_draft(draft)
    errors.extend(check_draft(draft, row, labels, {e.column for e in errors}))
    return draft, errors, notes


def _read_options(columns, cell) -> tuple[list[str], list[str]]:
    """The options, and a note when their letter numbering was taken off."""
    options = [cell(f"option_{x}") for x in LETTERS]
    if not any(options) and "options" in columns:
        options = [part.strip() for part in re.split(r"[|｜\n]", cell("options"))]
    while options and not options[-1]:
        options.pop()
    if not _numbered(options):
        return options, []
    options = [_OPTION_PREFIX.sub("", text, count=1).strip() for text in options]
    return options, ["已去掉选项前的字母编号（如「A.」）"]


def _numbered(options: list[str]) -> bool:
    """Whether every filled option starts with its own letter: "A.java", "B、python".

    Only then is the letter numbering rather than content: in「D、S用于标识外观设计专利」
    beside unnumbered options, D is a patent kind code.
    """
    filled = [(text, x) for text, x in zip(options, LETTERS, strict=False) if text]
    if len(filled) < 2:
        return False
    for text, own_letter in filled:
        match = _OPTION_PREFIX.match(text)
        if not match or unicodedata.normalize("NFKC", match[1]).upper() != own_letter:
            return False
    return True


def _choice_answer(text: str, options: list[str], kind: str) -> tuple[list[int], str | None]:
    if not text:
        return [], "答案不能为空"
    indices = parse_answer_letters(text)
    if indices is None:
        # Some banks write the correct option's text instead of its letter.
        if kind == "single" and text in options:
            return [options.index(text)], None
        return [], f"答案「{clip(text)}」无法识别，应填写选项字母，如 A 或 ABD"
    missing = [i for i in indices if i >= len(options) or not options[i]]
    if missing:
        wrong = "".join(letter(i) for i in missing)
        filled = sum(1 for o in options if o)
        if filled == 0:
            return [], f"答案「{wrong}」没有对应的选项：选项列都是空的"
        return [], f"答案「{wrong}」不是已填写的选项（只有{letters_span(len(options))}）"
    return indices, None


def _true_false_answer(text: str, options: list[str]) -> tuple[list[int], str | None]:
    if not text:
        return [], "答案不能为空"
    value = true_false_value(text)
    indices = parse_answer_letters(text)
    if (
        indices is not None
        and len(indices) == 1
        and indices[0] < len(options)
        and options[indices[0]]
    ):
        # A letter: the option text says which it is (A is 错误 in some real banks).
        option = options[indices[0]]
        value = true_false_value(option)
        if value is None:
            message = f"答案「{text}」对应的选项「{clip(option)}」不是「正确」或「错误」"
            return [], message
    elif value is None and indices in ([0], [1]):
        value = indices == [0]  # no option texts given: A = 正确, B = 错误
    if value is None:
        return [], f"判断题答案「{clip(text)}」无法识别，应填写 正确/错误、对/错、√/× 或选项字母"
    return [0 if value else 1], None


def blanks_from_text(text: str, options: list[str], stem: str) -> list[list[str]]:
    if not text and any(options):
        # Layout seen in real templates: each blank's answer in an option column.
        parts = [o for o in options if o]
    else:
        parts = re.split(r"[|｜]", text) if text else []
        markers = count_blanks(stem)
        if len(parts) == 1 and markers > 1:
            # "统一指挥、逐级指挥、属地指挥" for three blanks: split when the count fits.
            pieces = [p for p in re.split(r"[、，,;；]", text) if p.strip()]
            if len(pieces) == markers:
                parts = pieces
    return [_alternatives(part) for part in parts]


def _alternatives(text: str) -> list[str]:
    return list(dict.fromkeys(a.strip() for a in re.split(r"[/／]", text) if a.strip()))


def difficulty_value(text: str) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    if text in _DIFFICULTY_WORDS:
        return _DIFFICULTY_WORDS[text], None
    try:
        number = float(unicodedata.normalize("NFKC", text))
    except ValueError:
        number = None
    if number is None or not number.is_integer() or not 1 <= number <= 5:
        return None, f"难度「{clip(text)}」无法识别，应填写1–5或 简单/中等/困难"
    return int(number), None


def split_topics(text: str) -> list[str]:
    parts = (p.strip() for p in re.split(r"[|｜,，、;；]", text))
    return list(dict.fromkeys(p for p in parts if p))


# ---------------------------------------------------------------- export


def template_row(draft: QuestionDraft) -> list[str | int | None]:
    kind = TYPES[draft.type]
    options = list(draft.choices) if kind.editor == "choices" else []
    answer = kind.key_cell(draft)
    return [
        QUESTION_TYPES.get(draft.type, draft.type),
        draft.stem,
        *(options + [""] * len(LETTERS))[: len(LETTERS)],
        answer,
        draft.explanation,
        draft.difficulty,
        format_law_refs(draft.law_refs),
        "|".join(draft.topics),
    ]


def export_xlsx(drafts: list[QuestionDraft]) -> bytes:
    bank = Sheet(
        "题库",
        HEADER,
        (template_row(draft) for draft in drafts),
        widths=[None, 60],
        dropdowns={0: list(QUESTION_TYPES.values())},
    )
    notes = Sheet("填写说明", None, ([line] for line in _INSTRUCTIONS), widths=[100])
    return write_xlsx([bank, notes])


ERROR_COLUMNS = ["原位置", "错误原因"]


def export_refused(rows: list[list]) -> bytes:
    """Refused rows in the template, each with where it was and why (ERROR_COLUMNS last):
    the trainer fixes them and imports this file again (extra columns are not read)."""
    bank = Sheet(
        "错误行",
        [*HEADER, *ERROR_COLUMNS],
        rows,
        widths=[None, 60, *([None] * (len(HEADER) - 2)), 14, 60],
        dropdowns={0: list(QUESTION_TYPES.values())},
    )
    notes = Sheet("填写说明", None, ([line] for line in _INSTRUCTIONS), widths=[100])
    return write_xlsx([bank, notes])


def export_csv(drafts: list[QuestionDraft]) -> bytes:
    return write_csv(HEADER, (template_row(draft) for draft in drafts))


_INSTRUCTIONS = [
    "填写说明（本页不会被导入；导入读取第一个含表头的工作表）",
    "题型：单选、多选、判断、填空。",
    "选项：单选/多选题填写在 选项A…选项H 列，从 A 开始连续填写，2–8 个。",
    "答案：单选填一个字母（如 B）；多选填多个字母（如 ABD 或 A,B,D）；判断填 正确 或 错误；"
    "填空题多个空用 | 分隔，同一空的多个可接受答案用 / 分隔（如 十五日/15日|三十日）。",
    "填空题题干中用 ____（3个以上下划线）或（ ）标出每个空，个数须与答案中的空数一致。",
    "难度：1–5，或 简单、中等、困难；可不填。",
    "法律依据：如 行政处罚法（2021年修订）第36条、第37条；宪法（2018年修正）第5条。可不填。",
    "知识点：多个用 | 分隔。",
]
