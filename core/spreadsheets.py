"""Spreadsheets in and out: the one place that reads xlsx/csv rows and writes xlsx/csv.

Every text cell written passes the one formula guard, so no export carries a live formula
(CSV/formula injection): in xlsx such text is a string cell marked as typed with a leading
' (Excel's quotePrefix), so it shows exactly and stays text even when edited; in CSV it gets
the leading ' itself, which the CSV reader removes again. Export then import gives the
same text. An uploaded workbook is checked for its unpacked size and its declared
dimensions before openpyxl parses it, and reading stops at the row and column limits:
a zip bomb or a sheet declaring A1:XFD1048576 is refused in a moment, not parsed for minutes.
"""

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from core.errors import ServiceError

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MAX_ROWS = 50_000
MAX_COLUMNS = 100
#: Unpacked size of the whole archive; an honest 20 MB upload unpacks to well under this.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
#: Sheet XML compresses 5-20 times; a zip bomb hundreds of times.
MAX_RATIO = 100
_RATIO_FROM_BYTES = 1024 * 1024  # small parts (styles, an empty sheet) may compress more
_EXCEL_MAX_ROW = 1_048_576  # for drop-downs down the whole column

NOT_XLSX = "文件不是有效的 .xlsx 文件或已损坏"
OLD_XLS = "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入"
ENCODING_ERROR = "无法识别文件编码（支持 UTF-8 与 GB18030/GBK）"
CSV_ERROR = "CSV 文件格式错误：可能有未配对的引号，或单元格内容过长"

# Control characters that XML (and so xlsx) cannot hold; tab and newline stay.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

# A cell starting with one of these is run as a formula by Excel or LibreOffice; a leading
# ' is guarded too, so that a reader can tell the guard from text that starts with '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


class SpreadsheetError(ServiceError):
    """An upload refused as a whole, with the reason in Chinese."""

    code = "bad_spreadsheet"


def strip_control(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)


def looks_like_formula(text: str) -> bool:
    """The one formula guard: text a spreadsheet would run, or whose guard we must tell apart."""
    return text.startswith(_FORMULA_START)


def guard_formula(text: str) -> str:
    """Text for a CSV cell that a spreadsheet shows and never runs."""
    return "'" + text if looks_like_formula(text) else text


def unguard_formula(text: str) -> str:
    """The text `guard_formula` was given."""
    if len(text) > 1 and text[0] == "'" and text.startswith(_FORMULA_START, 1):
        return text[1:]
    return text


# ---------------------------------------------------------------- writing


@dataclass
class Sheet:
    title: str
    header: Sequence[str] | None
    #: rows of values: numbers (int, float, Decimal) stay numeric cells, text is guarded
    rows: Iterable[Iterable]
    #: column widths in characters, from column A; 0 or None keeps the default
    widths: Sequence[float | None] = ()
    #: one line above the header, e.g. which exam the sheet is about
    caption: str | None = None
    #: column index (0 = A) -> the values a drop-down offers below the header
    dropdowns: dict[int, Sequence[str]] = field(default_factory=dict)
    #: column index (0 = A) -> Excel number format of its numbers and times ("0.00", "0.0%")
    formats: dict[int, str] = field(default_factory=dict)


def write_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """A workbook written row by row (openpyxl write-only mode), so rows may be a generator."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(_sheet_title(sheet.title))
        for index, width in enumerate(sheet.widths, start=1):
            if width:
                worksheet.column_dimensions[get_column_letter(index)].width = width
        top = [[sheet.caption]] if sheet.caption is not None else []
        if sheet.header:
            top.append(list(sheet.header))
            worksheet.freeze_panes = f"A{len(top) + 1}"
        for index, values in sheet.dropdowns.items():
            column = get_column_letter(index + 1)
            options = DataValidation(
                type="list", formula1='"' + ",".join(values) + '"', allow_blank=True
            )
            options.add(f"{column}{len(top) + 1}:{column}{_EXCEL_MAX_ROW}")
            worksheet.data_validations.append(options)
        for row in top:
            worksheet.append([_bold(worksheet, value) for value in row])
        for row in sheet.rows:
            cells = [_xlsx_value(worksheet, value) for value in row]
            for index, number_format in sheet.formats.items():
                if index < len(cells) and not isinstance(cells[index], str | Cell | None):
                    cells[index] = WriteOnlyCell(worksheet, value=cells[index])
                    cells[index].number_format = number_format
            worksheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    # Excel refuses these characters and more than 31 of them in a sheet's name.
    return re.sub(r"[\\/*?:\[\]]", "_", title)[:31] or "Sheet"


def _bold(worksheet, value):
    cell = _xlsx_value(worksheet, value)
    if not isinstance(cell, Cell):
        cell = WriteOnlyCell(worksheet, value=cell)
    cell.font = Font(bold=True)
    return cell


def _xlsx_value(worksheet, value):
    if value is None or isinstance(value, bool | int | float | Decimal | datetime | date | time):
        return value
    text = strip_control(str(value))
    if not looks_like_formula(text):
        return text or None
    cell = WriteOnlyCell(worksheet, value=text)
    cell.data_type = "s"  # openpyxl makes "=…" a formula
    cell.quotePrefix = True
    return cell


def write_csv(header: Sequence[str] | None, rows: Iterable[Iterable]) -> bytes:
    """CSV as Excel on Chinese Windows opens it: UTF-8 with BOM, CRLF, every cell guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow([_csv_value(value) for value in header])
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return str(value)  # a negative number stays a number, not guarded text
    return guard_formula(str(value))


# ---------------------------------------------------------------- reading


def read_xlsx(data: bytes) -> list[list[tuple]]:
    """The rows of every sheet, trailing empty rows and cells dropped; raises
    SpreadsheetError when the file is damaged or beyond the limits."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SpreadsheetError(OLD_XLS)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise SpreadsheetError(NOT_XLSX) from None
    check_archive(members)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it drops; irrelevant for reading.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                return [_sheet_rows(worksheet) for worksheet in workbook.worksheets]
            finally:
                workbook.close()
    except SpreadsheetError:
        raise
    except Exception:  # a damaged part surfaces as many kinds of error from zipfile/XML/openpyxl
        raise SpreadsheetError(NOT_XLSX) from None


def check_archive(members: list[zipfile.ZipInfo]) -> None:
    """Refuse an Office file (xlsx, docx) that unpacks too large or compresses like a zip
    bomb, before any XML in it is parsed."""
    # zipfile stops reading a part at its declared size (a part that understates it fails
    # its CRC check), so the declared sizes bound the work.
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise SpreadsheetError(
            f"文件解压后有 {unpacked // (1024 * 1024)} MB，超过上限 "
            f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB，未读取。"
            "请删除多余的工作表、图片或空白格式后重新上传"
        )
    if any(
        member.file_size > _RATIO_FROM_BYTES
        and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    ):
        raise SpreadsheetError(
            f"文件的压缩比异常（解压后超过压缩时的 {MAX_RATIO} 倍），疑似压缩炸弹，未读取"
        )


def _sheet_rows(worksheet) -> list[tuple]:
    rows_declared, columns_declared = worksheet.max_row or 0, worksheet.max_column or 0
    if rows_declared > MAX_ROWS or columns_declared > MAX_COLUMNS:
        raise SpreadsheetError(
            f"工作表「{worksheet.title}」的范围为 {worksheet.calculate_dimension()}"
            f"（{rows_declared} 行 × {columns_declared} 列），超过上限："
            f"最多 {MAX_ROWS} 行、{MAX_COLUMNS} 列。请删除多余的行列后重新上传"
        )
    # The declared range may be missing or wrong: read what is there, within the limits
    # (a lone cell at XFD1048576 must not make a million rows of a hundred cells).
    worksheet.reset_dimensions()
    rows: list[tuple] = []
    cells = worksheet.iter_rows(max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS, values_only=True)
    gap = None
    for number, row in enumerate(cells, start=1):
        # openpyxl yields one shared tuple for each missing row: no need to look into it.
        values = () if row is gap else _trimmed(row)
        if not values:
            gap = row
        elif number > MAX_ROWS:
            raise SpreadsheetError(
                f"工作表「{worksheet.title}」超过 {MAX_ROWS} 行，未读取。请分成几个文件上传"
            )
        rows.append(values)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _trimmed(row: tuple) -> tuple:
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return row[:end]


def decode_text(data: bytes) -> str | None:
    """UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (covers GBK); None if none fits."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_csv(data: bytes, delimiter: str = ",") -> list[list[str]]:
    """The rows of a CSV file in any encoding `decode_text` knows; raises SpreadsheetError."""
    text = decode_text(data)
    if text is None:
        raise SpreadsheetError(ENCODING_ERROR)
    text = strip_control(text.removeprefix("\ufeff"))  # a stray NUL would stop the csv reader
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            if number > MAX_ROWS and any(row):
                raise SpreadsheetError(f"CSV 文件超过 {MAX_ROWS} 行，未读取。请分成几个文件上传")
            rows.append([unguard_formula(cell) for cell in row[:MAX_COLUMNS]])
    except csv.Error:
        raise SpreadsheetError(CSV_ERROR) from None
    while rows and not any(rows[-1]):
        rows.pop()
    return rows
