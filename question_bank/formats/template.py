"""The Chinese bank template (题库导入模板) as .xlsx and .csv.

Export writes the canonical header below; import also reads the layouts trainers already
have: header synonyms, a title row above the header, bare A…H option columns, all options
in one cell, answers written in the many ways people write them.

A 简答/论述 row holds its model answer in 答案, its marking points in 得分要点 (one a line,
points at the end, as the question form takes them) and its length limit in 字数上限.
A case (案例) is a row of type 案例 (the material in 题干, the title in 案例, an optional
table in 案例表格) followed by its sub-questions, each naming the title in 案例 with its
points in 分值; a sub-question belongs to the nearest 案例 row above it of that title.
A case is imported whole or not at all, as the text importer does (whole_cases).
"""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

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
    CENT,
    FIELD_LABELS,
    MAX_PART_POINTS,
    CaseDraft,
    CaseHead,
    ParsedRow,
    ParseResult,
    QuestionDraft,
    RowError,
    check_case,
    check_draft,
    clean_draft,
    finish,
    format_law_refs,
    parse_answer_letters,
    parse_law_refs,
    parse_marking_points,
    parse_table_text,
    table_text,
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
    "案例",
    "分值",
    "得分要点",
    "字数上限",
    "案例表格",
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
    "case": ["案例", "所属案例", "案例标题"],
    "points": ["分值", "小题分值"],
    "marking_points": ["得分要点", "评分要点"],
    "max_chars": ["字数上限", "字数限制"],
    "table": ["案例表格", "表格"],
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
    "short_answer": ["简答", "简答题"],
    "essay": ["论述", "论述题"],
}
#: the 题型 of a case's material row
CASE_ROW = "案例"
_CASE_ROW_NAMES = {CASE_ROW, "案例分析", "案例分析题", "材料", "材料题"}
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
    "model_answer": "answer",
    "marking_points": "marking_points",
    "max_chars": "max_chars",
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
    #: the case each title names now: the nearest 案例 row above of that title
    open_cases: dict[str, CaseHead] = {}
    heads: list[CaseHead] = []
    members: list[tuple[int, CaseHead]] = []
    for index in range(header_index + 1, len(rows)):
        cells = [_cell_text(value) for value in rows[index]]
        if not any(cells):
            continue
        row = index + 1

        def cell(key: str, cells=cells) -> str:
            column = columns.get(key, (None,))[0]
            return cells[column] if column is not None and column < len(cells) else ""

        if re.sub(r"\s+", "", cell("type")) in _CASE_ROW_NAMES:
            head, row_errors = _read_case_row(cell, columns, row)
            heads.append(head)
            open_cases[head.title] = head
            if row_errors:
                errors.extend(row_errors)
                refused[row] = _template_cells(cells, columns)
            continue
        draft, row_errors, notes = _read_row(cells, columns, row)
        head, points = None, None
        if title := cell("case"):
            head = open_cases.get(title)
            label = _label(columns, "case")
            if head is None:
                message = (
                    f"案例「{clip(title)}」上方没有它的材料行：请先写一行题型为「{CASE_ROW}」、"
                    f"{label}列为该标题的行（题干列写案例材料），再在其下写各小题"
                )
                row_errors.append(RowError(row, label, message))
            else:
                members.append((row, head))
                points, message = points_value(cell("points"))
                if message:
                    row_errors.append(RowError(row, _label(columns, "points"), message))
                else:
                    notes = [*notes, f"案例「{head.title}」的小题，{points} 分"]
        errors.extend(row_errors)
        if draft is not None and not row_errors:
            parsed.append(ParsedRow(row, draft, notes, head, points))
        else:
            refused[row] = _template_cells(cells, columns)
    parsed, case_errors = whole_cases(heads, members, parsed, refused)
    return finish(parsed, errors + case_errors, refused)


def _label(columns, key: str) -> str:
    """A column as the file names it, or as the template does."""
    return columns[key][1] if key in columns else _SYNONYMS[key][0]


def _read_case_row(cell, columns, row: int) -> tuple[CaseHead, list[RowError]]:
    """A 案例 row: the material (题干), the title (案例) and the table (案例表格)."""
    title = cell("case")
    head = CaseHead(row, title or f"第{row}行的案例")
    if material := cell("stem"):
        head.material.append(material)
    head.table = parse_table_text(cell("table"))
    errors = []
    if not title:
        message = f"案例行需要在{_label(columns, 'case')}列写案例标题，其小题在同一列写这个标题"
        errors.append(RowError(row, _label(columns, "case"), message))
    return head, errors


def whole_cases(
    heads: list[CaseHead],
    members: list[tuple[int, CaseHead]],
    rows: list[ParsedRow],
    refused: dict[int, list[str]],
    material_hint: str = f"题型为「{CASE_ROW}」的行的题干列",
) -> tuple[list[ParsedRow], list[RowError]]:
    """A case is imported whole or not at all: a case refused itself, with a refused
    sub-question, no sub-question, no material, or failing a check of the case form
    (length, table shape, number of sub-questions, points) keeps none of its rows, each
    named; every row of such a case joins `refused` (the error file then holds the case
    whole). `members`: (row, case) of each row naming a case, passed or not."""
    errors = []
    dropped: set[int] = set()
    for head in heads:
        own_rows = [number for number, case in members if case is head]
        own = [row for row in rows if row.case is head]
        problem = None
        if head.row in refused:
            problem = "的案例行有错误，整个案例未导入"
        elif not head.material:
            problem = f"没有案例材料（材料写在{material_hint}）"
        elif not own_rows:
            problem = "没有小题"
        elif any(number in refused for number in own_rows):
            problem = "有小题未通过检查，整个案例未导入"
        else:
            draft = CaseDraft(
                head.title,
                "\n".join(head.material),
                [row.draft for row in own],
                [row.points for row in own],
                head.table,
            )
            if found := check_case(draft):
                problem = "：" + "；".join(found.values())
        if problem:
            errors.append(RowError(head.row, "案例", f"案例「{head.title}」{problem}"))
            dropped.add(id(head))
            refused.setdefault(head.row, case_row(head))
    kept = []
    for row in rows:
        if row.case is None or id(row.case) not in dropped:
            kept.append(row)
            continue
        message = f"所在案例「{row.case.title}」未导入，本小题随之未导入"
        errors.append(RowError(row.row, "案例", message))
        refused.setdefault(row.row, template_row(row.draft, row.case.title, row.points))
    return kept, errors


def points_value(text: str) -> tuple[Decimal | None, str | None]:
    """A sub-question's points (分值); 1 when not written."""
    text = text.strip()
    if not text:
        return Decimal(1), None
    try:
        points = Decimal(unicodedata.normalize("NFKC", text).removesuffix("分"))
    except InvalidOperation:
        return None, f"分值「{clip(text)}」应为数字"
    if (
        not points.is_finite()
        or not Decimal(0) < points <= MAX_PART_POINTS
        or points != points.quantize(CENT)
    ):
        return None, f"分值「{clip(text)}」应大于 0、不超过 {MAX_PART_POINTS}，最多两位小数"
    return points, None


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
        *(cell(key) for key in ("case", "points", "marking_points", "max_chars", "table")),
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
        message = (
            f"不支持的题型「{clip(type_text)}」"
            f"（仅支持单选、多选、判断、填空、简答、论述，案例材料行写「{CASE_ROW}」）"
        )
        return None, [RowError(row, labels["type"], message)], []

    options, notes = _read_options(columns, cell)
    answer_text = cell("answer")
    choices: list[str] = []
    answer: list[int] = []
    blanks: list[list[str]] = []
    written: dict = {}
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
    elif kind == "fill_blank":
        blanks = blanks_from_text(answer_text, options, cell("stem"))
    else:  # 简答/论述: the model answer, and options only to be refused by the check
        choices = options
        written = {
            "model_answer": answer_text,
            "marking_points": parse_marking_points(cell("marking_points")),
        }
        written["max_chars"], message = _max_chars(cell("max_chars"))
        if message:
            errors.append(RowError(row, labels["max_chars"], message))

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
        **written,
    )
    draft = clean_draft(draft)
    errors.extend(check_draft(draft, row, labels, {e.column for e in errors}))
    return draft, errors, notes


def _max_chars(text: str) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    try:
        return int(unicodedata.normalize("NFKC", text).removesuffix("字")), None
    except ValueError:
        return None, f"字数上限「{clip(text)}」应为整数"


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


def template_row(
    draft: QuestionDraft, case: str = "", points: Decimal | None = None
) -> list[str | int | Decimal | None]:
    """A question as a row of HEADER; a case's sub-question names its case and points."""
    kind = TYPES[draft.type]
    options = list(draft.choices) if kind.editor == "choices" else []
    return [
        QUESTION_TYPES.get(draft.type, draft.type),
        draft.stem,
        *(options + [""] * len(LETTERS))[: len(LETTERS)],
        kind.key_cell(draft),
        draft.explanation,
        draft.difficulty,
        format_law_refs(draft.law_refs),
        "|".join(draft.topics),
        case,
        points,
        "\n".join(f"{text} {value}" for text, value in draft.marking_points),
        draft.max_chars,
        "",
    ]


def case_row(head: CaseHead) -> list[str]:
    """A case's own row (题型 案例): the material in 题干, the title, the table."""
    row = [""] * len(HEADER)
    row[0], row[1] = CASE_ROW, "\n".join(head.material)
    row[HEADER.index("案例")] = head.title
    row[HEADER.index("案例表格")] = table_text(head.table)
    return row


def template_rows(entries: list[QuestionDraft | CaseDraft]):
    """The rows of questions and cases (each case's row, then its sub-questions)."""
    for entry in entries:
        if isinstance(entry, QuestionDraft):
            yield template_row(entry)
            continue
        yield case_row(CaseHead(0, entry.title, [entry.material], entry.table))
        for draft, points in zip(entry.questions, entry.points, strict=True):
            yield template_row(draft, entry.title, points)


_TYPE_CHOICES = [*QUESTION_TYPES.values(), CASE_ROW]


def export_xlsx(entries: list[QuestionDraft | CaseDraft]) -> bytes:
    bank = Sheet(
        "题库",
        HEADER,
        template_rows(entries),
        widths=[None, 60],
        dropdowns={0: _TYPE_CHOICES},
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
        dropdowns={0: _TYPE_CHOICES},
    )
    notes = Sheet("填写说明", None, ([line] for line in _INSTRUCTIONS), widths=[100])
    return write_xlsx([bank, notes])


def export_csv(entries: list[QuestionDraft | CaseDraft]) -> bytes:
    return write_csv(HEADER, template_rows(entries))


_INSTRUCTIONS = [
    "填写说明（本页不会被导入；导入读取第一个含表头的工作表）",
    "题型：单选、多选、判断、填空、简答、论述；案例的材料行填「案例」（见下）。",
    "选项：单选/多选题填写在 选项A…选项H 列，从 A 开始连续填写，2–8 个。",
    "答案：单选填一个字母（如 B）；多选填多个字母（如 ABD 或 A,B,D）；判断填 正确 或 错误；"
    "填空题多个空用 | 分隔，同一空的多个可接受答案用 / 分隔（如 十五日/15日|三十日）；"
    "简答、论述题填参考答案（阅卷人评分时参照，考生在成绩公布前看不到）。",
    "填空题题干中用 ____（3个以上下划线）或（ ）标出每个空，个数须与答案中的空数一致。",
    "难度：1–5，或 简单、中等、困难；可不填。",
    "法律依据：如 行政处罚法（2021年修订）第36条、第37条；宪法（2018年修正）第5条。可不填。",
    "知识点：多个用 | 分隔。",
    "得分要点（简答、论述题必填）：每行一个要点，行末写分值，"
    "如「指出应当听取当事人的陈述和申辩 2」；阅卷时逐条勾选。",
    "字数上限（简答、论述题，可不填）：考生作答最多字数，10–3000，不填为 800。",
    "案例（案例分析/材料题）由一行材料和其下的若干小题组成：",
    "  ① 材料行：题型填「案例」，题干列填案例材料，案例列填案例标题；如有表格，填在案例表格列，"
    "每行一行（单元格内换行：Alt+Enter），单元格用 | 分隔，第一行为表头；",
    "  ② 小题行：写在材料行下方，题型填单选、多选、判断或填空，案例列填同一标题，"
    "分值列填本小题分值（不填按 1 分，最多两位小数）；小题按行的先后排序，一个案例最多 20 道小题。",
    "  小题属于上方最近的、标题相同的材料行；没有案例的试题，案例列和分值列留空。",
    "  示例：第2行 题型「案例」，题干「2023年5月，某区市场监管局检查发现某超市销售过期食品……」，"
    "案例「某超市销售过期食品案」，案例表格「品名 | 数量」「牛奶 | 20箱」（两行）；"
    "第3行 题型「单选」，题干「对该超市作出罚款决定前，执法机关应当……」，选项与答案照常填写，"
    "案例「某超市销售过期食品案」，分值「2」。",
    "一个案例的材料行或任一小题有错误，整个案例都不导入；错误文件中列出该案例的每一行及原因，"
    "改正后可整份重新导入。",
]
