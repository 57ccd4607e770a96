"""Word documents (.docx) in: the one place that opens an uploaded Word file, for the
question bank's import and the law library's statute import.

Before python-docx sees the file, the archive is checked as an xlsx is (unpacked size,
compression ratio: core.spreadsheets.check_archive), the document's XML is bounded (lxml
holds about ten times it in memory), and every XML part is read by defusedxml up to its
root element, refusing a DTD: Word never writes one, and a DTD is how entity expansion and
external entities get in. (python-docx's own lxml parser does not resolve entities
either; this does not rely on it.)
"""

import io
import zipfile

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from docx import Document

from core.errors import ServiceError
from core.spreadsheets import SpreadsheetError, check_archive

NOT_DOCX = "文件不是有效的 .docx 文件或已损坏"
OLD_DOC = "不支持旧版 .doc 文件，请在 Word 中另存为 .docx（Word 文档）后再导入"
HAS_DTD = "文件中含有文档类型定义（DTD），Word 不会生成这种内容，为安全起见未读取"
#: The document's XML parts, unpacked. A 5,000-question bank has about 5 MB.
MAX_XML_BYTES = 30 * 1024 * 1024
TOO_MUCH_XML = "文档正文解压后有 {} MB，超过上限 30 MB，未读取。请分成几个文件上传"


class DocumentError(ServiceError):
    """A Word upload refused as a whole, with the reason in Chinese."""

    code = "bad_document"


def open_docx(data: bytes):
    """The python-docx Document of an upload, after the checks; raises DocumentError."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentError(OLD_DOC)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            try:
                check_archive(members)
            except SpreadsheetError as error:
                raise DocumentError(error.message) from None
            parts = [m for m in members if m.filename.endswith((".xml", ".rels"))]
            xml = sum(member.file_size for member in parts)
            if xml > MAX_XML_BYTES:
                raise DocumentError(TOO_MUCH_XML.format(xml // (1024 * 1024)))
            for member in parts:
                with archive.open(member) as part:
                    _refuse_dtd(part)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise DocumentError(NOT_DOCX) from None
    try:
        return Document(io.BytesIO(data))
    except Exception:  # not a Word package, or a damaged part: many kinds of error
        raise DocumentError(NOT_DOCX) from None


def _refuse_dtd(part) -> None:
    # A DTD can only come before the root element: reading up to its start is enough.
    try:
        for _ in iterparse(part, events=("start",), forbid_dtd=True):
            return
    except DefusedXmlException:
        raise DocumentError(HAS_DTD) from None
    except Exception:  # not well-formed: python-docx would fail on it too
        raise DocumentError(NOT_DOCX) from None
