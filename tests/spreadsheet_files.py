"""Small generated workbooks, hostile and damaged, for the upload tests."""

import io
import re
import zipfile

import openpyxl


def plain_xlsx(*rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite(data: bytes, name: str, content: bytes, *, level: int = 6) -> bytes:
    """The same archive with one part replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = content if item.filename == name else source.read(item.filename)
            target.writestr(item.filename, body, zipfile.ZIP_DEFLATED, level)
    return out.getvalue()


def sheet_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def with_dimension(data: bytes, ref: str) -> bytes:
    xml = re.sub(
        rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), sheet_xml(data)
    )
    return rewrite(data, "xl/worksheets/sheet1.xml", xml)


def zip_bomb() -> bytes:
    """40 MB of sheet XML deflated to a few dozen KB (the one reported: 744 MB in 2.9 MB)."""
    xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        + b"x" * (40 * 1024 * 1024)
        + b"</t></is></c></row></sheetData></worksheet>"
    )
    return rewrite(plain_xlsx(["题型"]), "xl/worksheets/sheet1.xml", xml, level=9)


def whole_sheet_range(*rows) -> bytes:
    """A tiny workbook that declares every cell of the sheet in use."""
    return with_dimension(plain_xlsx(*(rows or [["姓名", "账号"]])), "A1:XFD1048576")


def damaged_workbook() -> bytes:
    """A sound zip whose workbook part is broken XML."""
    return rewrite(plain_xlsx(["a"]), "xl/workbook.xml", b"<workbook><broken")


def last_cell_only() -> bytes:
    """A tiny workbook, no declared range, whose one cell is XFD1048576."""
    base = plain_xlsx(["a"])
    cell = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    xml = re.sub(rb"<dimension[^>]*/>", b"", sheet_xml(base))
    xml = re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData>" + cell + b"</sheetData>", xml)
    return rewrite(base, "xl/worksheets/sheet1.xml", xml)
