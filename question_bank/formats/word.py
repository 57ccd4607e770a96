"""Word (.docx) question banks, read with python-docx.

The document is read in order as lines: each paragraph (a soft line break inside one
starts a new line), and each table cell's paragraphs row by row, so options laid out in a
table read as option lines. Those lines are a numbered bank (formats/numbered.py). A table
whose header is the bank template's (题型, 题干, 答案 …) is read as the template instead,
row by row; a table within a case's material (after 【案例】, before its first question) is
the case's table. A question holding a picture or an embedded object is refused by number.

The file is opened by core.documents.open_docx, which checks it before python-docx reads
it (unpacked size, compression ratio, size of the XML, no DTD).
"""

from docx.oxml.ns import qn

from core.documents import DocumentError, open_docx
from core.spreadsheets import strip_control
from question_bank.drafts import ParseResult, RowError
from question_bank.formats.numbered import Line, parse_lines
from question_bank.formats.template import find_header, parse_table

_P, _TBL, _TR, _TC = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
_TEXT = {qn("w:t"): None, qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n"}
_OBJECTS = (qn("w:drawing"), qn("w:pict"), qn("w:object"))


def parse_docx(data: bytes) -> ParseResult:
    try:
        document = open_docx(data)  # size, ratio and DTD checks first
    except DocumentError as error:
        return ParseResult([], [RowError(0, "", error.message)], [])
    numbering = _Numbering(document)
    lines: list[Line] = []
    for element in document.element.body:
        if element.tag == _P:
            _add_paragraph(lines, element, numbering)
        elif element.tag == _TBL:
            rows = _table_rows(element)
            if find_header(rows):
                # A bank kept as a table in the template's columns: rows, not lines.
                return parse_table([rows])
            for row, cells in zip(element.iter(_TR), rows, strict=True):
                # The row as cells (a case's table, when it stands in the material), then
                # its paragraphs as lines (options laid out in a table, elsewhere).
                number = lines[-1].number if lines else 0
                lines.append(Line(number, "", cells=[" ".join(c.split()) for c in cells]))
                for cell in row.iter(_TC):
                    for paragraph in cell.iter(_P):
                        _add_paragraph(lines, paragraph, numbering, in_table=True)
    return parse_lines(lines)


def _add_paragraph(
    lines: list[Line], paragraph, numbering: "_Numbering", in_table: bool = False
) -> None:
    """The paragraph as lines numbered by paragraph (a soft break splits the lines), with
    the number or letter Word's list numbering shows before it."""
    number = (lines[-1].number if lines else 0) + 1
    image = any(True for _ in paragraph.iter(*_OBJECTS))
    text = numbering.label(paragraph) + _text(paragraph)
    for piece in text.replace("\t", " ").split("\n"):
        lines.append(Line(number, piece, image, in_table=in_table))


_CN_DIGITS = "〇一二三四五六七八九"


def _chinese(number: int) -> str:
    """1..99 as 一 … 九十九 (list numbering of sections: 一、二、…)."""
    if number < 10:
        return _CN_DIGITS[number]
    tens, units = divmod(number, 10)
    return f"{'' if tens == 1 else _CN_DIGITS[tens]}十{_CN_DIGITS[units] if units else ''}"


_NUMBER_FORMATS = {
    "decimal": str,
    "decimalFullWidth": lambda n: str(n).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    ),
    "upperLetter": lambda n: chr(ord("A") + (n - 1) % 26),
    "lowerLetter": lambda n: chr(ord("a") + (n - 1) % 26),
    "chineseCounting": _chinese,
    "chineseCountingThousand": _chinese,
    "ideographTraditional": _chinese,
    "japaneseCounting": _chinese,
    "ideographDigital": lambda n: "".join(_CN_DIGITS[int(d)] for d in str(n)),
}


class _Numbering:
    """The labels Word's automatic list numbering puts before paragraphs (`1.`, `A.`,
    `一、`): they are not in the text, and a bank numbered that way would read as one
    long question without them. Counters run per list and level, as Word counts them;
    a level's counter restarts when a level above it moves on. Bullets add nothing."""

    def __init__(self, document):
        self.levels: dict[tuple[str, str], tuple[str, int, str]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        #: paragraph style id -> (numId, level) of the list numbering the style carries
        self.by_style: dict[str, tuple[str | None, str | None]] = {}
        style_levels: dict[str, str] = {}  # style id -> the level that names it (w:pStyle)
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return  # no list numbering in this document
        abstract = {a.get(qn("w:abstractNumId")): a for a in numbering.iter(qn("w:abstractNum"))}
        for num in numbering.iter(qn("w:num")):
            reference = num.find(qn("w:abstractNumId"))
            definition = abstract.get(reference.get(qn("w:val")) if reference is not None else None)
            if definition is None:
                continue
            for level in definition.iter(qn("w:lvl")):
                number_format = _value(level, "w:numFmt") or "decimal"
                start = int(_value(level, "w:start") or 1)
                pattern = _value(level, "w:lvlText") or ""
                self.levels[(num.get(qn("w:numId")), level.get(qn("w:ilvl")))] = (
                    number_format,
                    start,
                    pattern,
                )
                linked_style = _value(level, "w:pStyle")
                if linked_style:
                    style_levels[linked_style] = level.get(qn("w:ilvl"))
        self.by_style = _style_numbering(document, style_levels)

    def label(self, paragraph) -> str:
        properties = paragraph.find(qn("w:pPr"))
        numbered = properties.find(qn("w:numPr")) if properties is not None else None
        style = _value(properties, "w:pStyle") if properties is not None else None
        # A list style (List Number, a bank's own 题号 style) numbers its paragraphs too;
        # the paragraph's own numPr wins where it says something.
        style_num_id, style_level = self.by_style.get(style, (None, None))
        num_id = (_value(numbered, "w:numId") if numbered is not None else None) or style_num_id
        written_level = _value(numbered, "w:ilvl") if numbered is not None else None
        level = int(written_level or style_level or 0)
        if num_id is None or (num_id, str(level)) not in self.levels:
            return ""
        counters = self.counters.setdefault(num_id, {})
        number_format, start, pattern = self.levels[(num_id, str(level))]
        counters[level] = counters.get(level, start - 1) + 1
        for deeper in [k for k in counters if k > level]:
            del counters[deeper]
        write = _NUMBER_FORMATS.get(number_format)
        if write is None:  # bullets and formats a bank does not number with
            return ""
        label = pattern
        for shown in range(level + 1):
            value = counters.get(shown, self.levels.get((num_id, str(shown)), ("", 1, ""))[1])
            shown_format = self.levels.get((num_id, str(shown)), (number_format,))[0]
            label = label.replace(f"%{shown + 1}", _NUMBER_FORMATS.get(shown_format, str)(value))
        return label + " " if label else ""


def _style_numbering(document, style_levels: dict[str, str]):
    """Style id -> (numId, level) for paragraph styles carrying list numbering, their own
    or inherited through w:basedOn (each of the two from the nearest style giving it)."""
    try:
        styles = document.styles.element
    except (KeyError, NotImplementedError):
        return {}
    own, based_on = {}, {}
    for style in styles.iter(qn("w:style")):
        style_id = style.get(qn("w:styleId"))
        based_on[style_id] = _value(style, "w:basedOn")
        properties = style.find(qn("w:pPr"))
        numbered = properties.find(qn("w:numPr")) if properties is not None else None
        if numbered is not None:
            own[style_id] = (_value(numbered, "w:numId"), _value(numbered, "w:ilvl"))
    found = {}
    for style_id in based_on:
        num_id = level = None
        seen, current = set(), style_id
        while current and current not in seen:
            seen.add(current)
            own_num_id, own_level = own.get(current, (None, None))
            num_id, level = num_id or own_num_id, level or own_level
            current = based_on.get(current)
        if num_id and num_id != "0":  # numId 0 switches numbering off
            found[style_id] = (num_id, level or style_levels.get(style_id))
    return found


def _value(element, tag: str) -> str | None:
    child = element.find(qn(tag))
    return child.get(qn("w:val")) if child is not None else None


def _text(paragraph) -> str:
    parts = []
    for node in paragraph.iter(*_TEXT):
        replacement = _TEXT[node.tag]
        parts.append((node.text or "") if replacement is None else replacement)
    return strip_control("".join(parts))


def _table_rows(table) -> list[tuple[str, ...]]:
    rows = []
    for row in table.iter(_TR):
        cells = []
        for cell in row.iter(_TC):
            cells.append("\n".join(_text(paragraph) for paragraph in cell.iter(_P)).strip())
        rows.append(tuple(cells))
    return rows
