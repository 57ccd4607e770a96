"""Import and export formats for the question bank.

`parse(data, fmt)` never raises on bad input: every problem is a RowError in the result.
A file-level problem (encoding, damaged file, missing header) is a single error at row 0
or 1. Import is all-or-nothing upstream: the caller stores nothing if `errors` is not empty.

Which format a file is (`detect_format`):
- .xlsx -> xlsx, .csv -> csv, .xml -> moodle_xml, .gift -> gift, .aiken -> aiken;
- .txt is what Moodle writes for both GIFT and Aiken: `*.gift.txt` / `*.aiken.txt` say
  which; otherwise, given the data, a line starting `ANSWER:` means Aiken, else GIFT.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.spreadsheets import XLSX_MIMETYPE
from question_bank.drafts import ParsedRow, ParseResult, QuestionDraft, RowError
from question_bank.formats.aiken import parse_aiken
from question_bank.formats.gift import export_gift, parse_gift
from question_bank.formats.moodle_xml import export_moodle_xml, parse_moodle_xml
from question_bank.formats.template import export_csv, export_xlsx, parse_csv, parse_xlsx

__all__ = ["FORMATS", "ParseResult", "ParsedRow", "RowError", "detect_format", "export", "parse"]


@dataclass(frozen=True)
class Format:
    label: str
    extensions: tuple[str, ...]
    parse: Callable[[bytes], ParseResult]
    # Returns the file and warnings for questions the format cannot carry; None: import only.
    export: Callable[[list[QuestionDraft]], tuple[bytes, list[str]]] | None
    mimetype: str


def _no_warnings(writer: Callable[[list[QuestionDraft]], bytes]):
    return lambda drafts: (writer(drafts), [])


FORMATS = {
    "xlsx": Format(
        "Excel 题库模板（.xlsx）",
        (".xlsx",),
        parse_xlsx,
        _no_warnings(export_xlsx),
        XLSX_MIMETYPE,
    ),
    "csv": Format(
        "CSV 题库模板（.csv）", (".csv",), parse_csv, _no_warnings(export_csv), "text/csv"
    ),
    "gift": Format(
        "Moodle GIFT（.gift/.txt）", (".gift", ".txt"), parse_gift, export_gift, "text/plain"
    ),
    "aiken": Format("Moodle Aiken（.txt）", (".aiken", ".txt"), parse_aiken, None, "text/plain"),
    "moodle_xml": Format(
        "Moodle XML（.xml）", (".xml",), parse_moodle_xml, export_moodle_xml, "application/xml"
    ),
}


def detect_format(filename: str, data: bytes | None = None) -> str | None:
    """Format key from the file name (and, for .txt, a look at the data); None if unknown."""
    name = filename.strip().lower()
    for suffix, fmt in ((".gift.txt", "gift"), (".aiken.txt", "aiken")):
        if name.endswith(suffix):
            return fmt
    extension = name[name.rfind(".") :] if "." in name else ""
    if extension == ".txt":
        if data is not None and re.search(rb"^\s*ANSWER\s*:", data, re.MULTILINE | re.IGNORECASE):
            return "aiken"
        return "gift"
    for fmt, spec in FORMATS.items():
        if extension in spec.extensions:
            return fmt
    return None


def parse(data: bytes, fmt: str) -> ParseResult:
    if fmt == "csv" and data.startswith(b"PK\x03\x04"):
        fmt = "xlsx"  # an Excel workbook saved under a .csv name
    return FORMATS[fmt].parse(data)


def export_with_warnings(drafts: list[QuestionDraft], fmt: str) -> tuple[bytes, list[str]]:
    """The file, and one Chinese warning per question the format had to skip."""
    writer = FORMATS[fmt].export
    if writer is None:
        raise ValueError(f"format {fmt!r} is import-only")
    return writer(drafts)


def export(drafts: list[QuestionDraft], fmt: str) -> bytes:
    return export_with_warnings(drafts, fmt)[0]
