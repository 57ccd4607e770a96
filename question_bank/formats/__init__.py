"""Import and export formats for the question bank.

`parse(data, fmt)` never raises on bad input: every problem is a RowError in the result.
A file-level problem (encoding, damaged file, missing header) is a single error at row 0
or 1. Import is all-or-nothing upstream: the caller stores nothing if `errors` is not empty.

Which format a file is (`detect_format`, `read`):
- .xlsx -> xlsx, .csv -> csv, .xml -> moodle_xml, .gift -> gift, .aiken -> aiken,
  .docx -> docx (Word);
- .txt holds a Chinese numbered bank, or GIFT or Aiken as Moodle writes them:
  `*.gift.txt` / `*.aiken.txt` say which; otherwise each text layout reads the file and the
  one that reads the most questions (then: the fewest errors) is taken. When none reads a
  question, the errors are those of the layout the file resembles, or, resembling none,
  one message saying in Chinese what each layout looks like.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.spreadsheets import XLSX_MIMETYPE, decode_text
from question_bank.drafts import CaseDraft, ParsedRow, ParseResult, QuestionDraft, RowError
from question_bank.formats.aiken import parse_aiken
from question_bank.formats.gift import export_gift, parse_gift
from question_bank.formats.moodle_xml import export_moodle_xml, parse_moodle_xml
from question_bank.formats.numbered import LAYOUT, parse_numbered
from question_bank.formats.template import export_csv, export_xlsx, parse_csv, parse_xlsx
from question_bank.formats.word import parse_docx
from question_bank.types import of

__all__ = [
    "FORMATS",
    "ParseResult",
    "ParsedRow",
    "RowError",
    "detect_format",
    "export",
    "parse",
    "read",
]


@dataclass(frozen=True)
class Format:
    label: str
    extensions: tuple[str, ...]
    parse: Callable[[bytes], ParseResult]
    # Returns the file and warnings for questions the format cannot carry; None: import only.
    export: Callable[[list], tuple[bytes, list[str]]] | None
    mimetype: str
    #: the bank template: takes written questions and cases (CaseDraft) too; the other
    #: formats get the objective questions outside cases only
    whole: bool = False


def _no_warnings(writer: Callable[[list[QuestionDraft]], bytes]):
    return lambda drafts: (writer(drafts), [])


FORMATS = {
    "xlsx": Format(
        "Excel 题库模板（.xlsx）",
        (".xlsx",),
        parse_xlsx,
        _no_warnings(export_xlsx),
        XLSX_MIMETYPE,
        whole=True,
    ),
    "csv": Format(
        "CSV 题库模板（.csv）",
        (".csv",),
        parse_csv,
        _no_warnings(export_csv),
        "text/csv",
        whole=True,
    ),
    "gift": Format(
        "Moodle GIFT（.gift/.txt）", (".gift", ".txt"), parse_gift, export_gift, "text/plain"
    ),
    "aiken": Format("Moodle Aiken（.txt）", (".aiken", ".txt"), parse_aiken, None, "text/plain"),
    "moodle_xml": Format(
        "Moodle XML（.xml）", (".xml",), parse_moodle_xml, export_moodle_xml, "application/xml"
    ),
    "cn_text": Format(f"{LAYOUT}（.txt）", (".txt",), parse_numbered, None, "text/plain"),
    "docx": Format(
        "Word 题库（.docx）",
        (".docx",),
        parse_docx,
        None,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
}
#: the layouts a .txt file may be in, in the order a tie between them is settled
TEXT_FORMATS = ("cn_text", "aiken", "gift")
OLD_WORD = "不支持旧版 .doc 文件，请在 Word 中另存为 .docx（Word 文档）后再导入"
TEXT_LAYOUTS_HELP = (
    "无法识别文本题库的写法，未读出任何试题。支持以下三种写法（每种举一例）："
    "①中文编号题库：「1．行政处罚的追责时效一般为（ ）。」下一行「A．一年  B．二年  C．三年」，"
    "再下一行「答案：B」（答案也可写在题干括号中「（B）」，或在文末写「参考答案：1-5 ABCDA」；"
    "可用「一、单项选择题」「二、判断题」等标题分题型）；"
    "②Moodle Aiken：题干一行，选项「A. 一年」各占一行，最后一行「ANSWER: B」，题与题之间空一行；"
    "③Moodle GIFT：「行政处罚的追责时效一般为 {~一年 =二年 ~三年}」，题与题之间空一行。"
)
# What a file in each text layout cannot do without; used only to choose whose errors to
# show when no layout reads a question.
_LOOKS_LIKE = {
    "gift": re.compile(r"\{[^{}]*[=~][^{}]*\}", re.DOTALL),
    "aiken": re.compile(r"^\s*ANSWER\s*:", re.MULTILINE | re.IGNORECASE),
    "cn_text": re.compile(
        r"^\s*(?:第\s*[0-9０-９]+\s*题|[0-9０-９]{1,6}\s*[.．、:：])", re.MULTILINE
    ),
}


def _format_by_name(filename: str) -> str | None:
    """Format key the file's name says; "txt" for a .txt that could be any text layout."""
    name = filename.strip().lower()
    for suffix, fmt in ((".gift.txt", "gift"), (".aiken.txt", "aiken")):
        if name.endswith(suffix):
            return fmt
    extension = name[name.rfind(".") :] if "." in name else ""
    if extension == ".txt":
        return "txt"
    for fmt, spec in FORMATS.items():
        if extension in spec.extensions:
            return fmt
    return None


def detect_format(filename: str, data: bytes | None = None) -> str | None:
    """Format key from the file name (and, for .txt, the data); None if unknown."""
    fmt = _format_by_name(filename)
    if fmt == "txt":
        return read_text(data or b"")[0]
    return fmt


def read_text(data: bytes) -> tuple[str, ParseResult, list[str]]:
    """Read a .txt in each text layout: (the layout taken, its result, how it was chosen)."""
    results = {fmt: FORMATS[fmt].parse(data) for fmt in TEXT_FORMATS}
    best = max(
        TEXT_FORMATS,
        key=lambda fmt: (
            len(results[fmt].rows),
            -len(results[fmt].errors),
            -TEXT_FORMATS.index(fmt),
        ),
    )
    tried = "；".join(
        f"{FORMATS[fmt].label}读出 {len(results[fmt].rows)} 道、{len(results[fmt].errors)} 处错误"
        for fmt in TEXT_FORMATS
    )
    if results[best].rows:
        return best, results[best], [f"按{FORMATS[best].label}读取（{tried}）"]
    text = decode_text(data)
    if text is None:
        return "cn_text", results["cn_text"], []
    for fmt in ("gift", "aiken", "cn_text"):
        if _LOOKS_LIKE[fmt].search(text) and results[fmt].errors:
            return fmt, results[fmt], [f"文件看起来是{FORMATS[fmt].label}，但没有读出试题"]
    return "cn_text", ParseResult([], [RowError(0, "", TEXT_LAYOUTS_HELP)], []), []


def read(
    data: bytes, filename: str, fmt: str | None = None
) -> tuple[str | None, ParseResult, list[str]]:
    """Parse an upload: (format key or None if unknown, result, notes on how it was read)."""
    fmt = fmt or _format_by_name(filename)
    if fmt == "txt":
        return read_text(data)
    if fmt is None and filename.strip().lower().endswith(".doc"):
        return None, ParseResult([], [RowError(0, "", OLD_WORD)], []), []
    if fmt not in FORMATS:
        names = "、".join(spec.label for spec in FORMATS.values())
        error = RowError(0, "", f"无法识别文件格式「{filename}」，支持：{names}")
        return None, ParseResult([], [error], []), []
    return fmt, parse(data, fmt), []


def parse(data: bytes, fmt: str) -> ParseResult:
    if fmt == "csv" and data.startswith(b"PK\x03\x04"):
        fmt = "xlsx"  # an Excel workbook saved under a .csv name
    return FORMATS[fmt].parse(data)


def export_with_warnings(
    entries: list[QuestionDraft | CaseDraft], fmt: str
) -> tuple[bytes, list[str], int]:
    """The file, one Chinese warning per question (or case) the format had to skip, and
    how many questions the file holds. The bank template (xlsx, csv) carries everything:
    written questions with their marking points, cases with their material and table."""
    spec = FORMATS[fmt]
    if spec.export is None:
        raise ValueError(f"format {fmt!r} is import-only")
    total = sum(len(e.questions) if isinstance(e, CaseDraft) else 1 for e in entries)
    if spec.whole:
        data, warnings = spec.export(entries)
        return data, warnings, total
    kept, skipped, lost = [], [], 0
    number = 0  # a question's number in the whole export, sub-questions counted
    whole = "；导出为题库模板（.xlsx 或 .csv）可完整保留"
    for entry in entries:
        if isinstance(entry, CaseDraft):
            skipped.append(
                f"第{number + 1}–{number + len(entry.questions)}题是案例「{entry.title}」的小题，"
                f"{spec.label}不能表示案例材料，已跳过{whole}"
            )
            number += len(entry.questions)
            lost += len(entry.questions)
            continue
        number += 1
        if of(entry.type).marked:
            label = of(entry.type).label
            skipped.append(
                f"第{number}题是{label}题，{spec.label}不能表示其得分要点，已跳过{whole}"
            )
            lost += 1
        else:
            kept.append(entry)
    data, warnings = spec.export(kept)
    return data, skipped + warnings, total - lost - len(warnings)


def export(entries: list[QuestionDraft | CaseDraft], fmt: str) -> bytes:
    return export_with_warnings(entries, fmt)[0]
