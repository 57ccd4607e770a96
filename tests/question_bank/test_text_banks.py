"""Word and plain-text question banks in the Chinese layouts trainers keep them in.

Every fixture here is written for the test (short made-up questions), never a copy of a
real bank."""

import io
import zipfile

import pytest
from docx import Document
from PIL import Image

from core.documents import HAS_DTD, NOT_DOCX, OLD_DOC
from question_bank import formats
from question_bank.formats.numbered import NOTHING_READ, parse_numbered
from question_bank.formats.word import parse_docx


def read_txt(text: str, encoding: str = "utf-8"):
    return parse_numbered(text.encode(encoding))


def only(result):
    assert result.errors == [], result.errors
    return [(r.draft.type, r.draft.stem, r.draft.choices, r.draft.answer) for r in result.rows]


def notes_of(result) -> list[str]:
    return [" ".join(r.notes) for r in result.rows]


# ---------------------------------------------------------------- text layouts


def test_answer_line_in_its_several_spellings():
    text = """1．行政处罚的追责时效一般为几年？
A．一年
B．二年
C．三年
正确答案：B
2、下列属于行政处罚种类的有
A、警告
B、罚款
C、记过
答案：AB
3. 宪法是国家的根本法。
【答案】对
"""
    result = read_txt(text)
    assert only(result) == [
        ("single", "行政处罚的追责时效一般为几年？", ["一年", "二年", "三年"], [1]),
        ("multiple", "下列属于行政处罚种类的有", ["警告", "罚款", "记过"], [0, 1]),
        ("true_false", "宪法是国家的根本法。", ["正确", "错误"], [0]),
    ]
    notes = notes_of(result)
    assert "答案取自答案行「正确答案：B」" in notes[0] and "按答案个数定为单选" in notes[0]
    assert "按答案个数定为多选" in notes[1]
    assert "答案取自答案行「【答案】对」" in notes[2] and "按判断题" in notes[2]
    assert [r.row for r in result.rows] == [1, 6, 11]


def test_answer_in_the_stems_parentheses_becomes_the_blank():
    text = """1．行政处罚的追责时效一般为（ B ）。
A．一年  B．二年  C．三年  D．五年
2．下列属于行政处罚种类的有（ＡＢ）。
A．警告 B．罚款 C．记过
3．宪法是国家的根本法。（√）
4．法律可以溯及既往。（×）
"""
    result = read_txt(text)
    assert only(result) == [
        ("single", "行政处罚的追责时效一般为（ ）。", ["一年", "二年", "三年", "五年"], [1]),
        ("multiple", "下列属于行政处罚种类的有（ ）。", ["警告", "罚款", "记过"], [0, 1]),
        ("true_false", "宪法是国家的根本法。", ["正确", "错误"], [0]),
        ("true_false", "法律可以溯及既往。", ["正确", "错误"], [1]),
    ]
    assert "答案取自题干括号中的答案「（ B ）」" in notes_of(result)[0]
    assert "一行多个选项" in notes_of(result)[0]


def test_the_stems_answer_must_agree_with_the_answer_line():
    text = "1．追责时效为（B）。\nA．一年\nB．二年\n答案：A\n"
    result = read_txt(text)
    assert result.rows == []
    assert "第 1 题：题干括号中的答案「（B）」与答案行「答案：A」不一致" in result.errors[0].message


def test_answer_key_block_at_the_end_matched_by_number():
    text = """1．第一题的题干
A．甲 B．乙 C．丙 D．丁
2．第二题的题干
A．甲 B．乙 C．丙 D．丁
3．第三题的题干
A．甲 B．乙 C．丙 D．丁
4．第四题的题干
A．甲 B．乙 C．丙 D．丁
5．第五题的题干（ ）
6．第六题的题干
A．甲 B．乙 C．丙 D．丁

参考答案：1-3 BCA
4．AD  5．×
6、D
"""
    result = read_txt(text)
    keys = [(r.draft.type, r.draft.answer) for r in result.rows]
    assert result.errors == []
    assert keys == [
        ("single", [1]),
        ("single", [2]),
        ("single", [0]),
        ("multiple", [0, 3]),
        ("true_false", [1]),
        ("single", [3]),
    ]
    assert "答案取自文末参考答案「1-3 BCA」" in notes_of(result)[0]
    assert "答案取自文末参考答案「4.AD」" in notes_of(result)[3]


def test_section_headings_set_the_type_and_numbering_may_restart():
    text = """一、单项选择题（每题1分，共2分）
1．单选第一题
A．甲 B．乙
2．单选第二题
A．甲 B．乙
二、多项选择题
1．多选第一题
A．甲 B．乙 C．丙
三、判断题
1．判断第一题
四、填空题
1．罚款应当在____内缴纳。
答案：十五日/15日
五、简答题
1．简述行政处罚的原则。
答案：略

参考答案
一、单项选择题
1-2 AB
二、多项选择题
1. AC
三、判断题
1. √
"""
    result = read_txt(text)
    read = [(r.draft.type, r.draft.answer, r.draft.blanks) for r in result.rows]
    assert read == [
        ("single", [0], []),
        ("single", [1], []),
        ("multiple", [0, 2], []),
        ("true_false", [0], []),
        ("fill_blank", [], [["十五日", "15日"]]),
    ]
    assert "题型取自标题「单项选择题」" in notes_of(result)[0]
    assert "题型取自标题「填空题」" in notes_of(result)[4]
    [error] = result.errors
    assert error.message == "第 1 题：不支持的题型「简答题」（仅支持单选、多选、判断、填空）"


def test_a_multiple_section_with_one_letter_is_refused_not_made_single():
    result = read_txt("二、多项选择题\n1．题干\nA．甲\nB．乙\n答案：A\n")
    assert result.rows == []
    assert result.errors[0].message == "第 1 题：多选题至少应有两个正确选项"


def test_multi_line_options_and_fields():
    text = """1．【单选题】依照行政处罚法，下列说法
正确的是
A．行政处罚的设定
应当由法律规定
B．罚款
C．警告
答案：A
解析：见第三条。
法律依据：行政处罚法（2021年修订）第3条
知识点：处罚设定|总则
难度：3
【题号：1024】 第二题的题干
A：甲
B：乙
答案：B
"""
    result = read_txt(text)
    first, second = result.rows
    assert result.errors == []
    assert first.draft.stem == "依照行政处罚法，下列说法\n正确的是"
    assert first.draft.choices == ["行政处罚的设定\n应当由法律规定", "罚款", "警告"]
    assert first.draft.explanation == "见第三条。"
    assert [(r.law, r.version, r.article) for r in first.draft.law_refs] == [
        ("行政处罚法", "2021年修订", 3)
    ]
    assert first.draft.topics == ["处罚设定", "总则"] and first.draft.difficulty == 3
    assert "题型取自题前标注「单选题」" in " ".join(first.notes)
    assert "选项跨行" in " ".join(first.notes)
    assert second.draft.stem == "第二题的题干" and second.draft.answer == [1]
    assert "去掉了题前编号「1024」" in " ".join(second.notes)


def test_statements_numbered_inside_a_stem_stay_in_the_stem():
    text = """7．关于下列说法：
1、甲认为应当听证
3、乙认为无需听证
正确的是
A．甲对 B．乙对
答案：A
8．下一题
A．甲 B．乙
答案：B
"""
    result = read_txt(text)
    first, second = only(result)
    assert first[1] == "关于下列说法：\n1、甲认为应当听证\n3、乙认为无需听证\n正确的是"
    assert second[1] == "下一题"


def test_a_stem_starting_with_a_year_still_starts_a_question():
    text = "1．第一题\nA．甲 B．乙\n答案：A\n2．1804年的法典是第一部民法典吗？（A）\nA．甲 B．乙\n33、2010年通则生效\nA．甲 B．乙\n答案：B\n"
    result = read_txt(text)
    assert [r.draft.stem for r in result.rows] == [
        "第一题",
        "1804年的法典是第一部民法典吗？（ ）",
        "2010年通则生效",
    ]


def test_an_option_over_two_lines_with_the_next_options_after_it():
    text = "1．以下说法正确的是\nA．第一行\n第二行  B．乙  C．丙\n答案：B\n"
    assert only(read_txt(text)) == [
        ("single", "以下说法正确的是", ["第一行\n第二行", "乙", "丙"], [1])
    ]


def test_letters_in_parentheses_that_are_no_key_stay_in_the_stem():
    text = "1．股权自由现金流（FCFE）为多少\nA．335  B．365  C．375\n答案：C\n"
    [row] = read_txt(text).rows
    assert row.draft.stem == "股权自由现金流（FCFE）为多少" and row.draft.answer == [2]


def test_gbk_text_with_full_width_numbers_and_separators():
    text = "１．全角题号的题干\r\nＡ．甲\r\nＢ．乙\r\n答案：Ｂ\r\n２．第二题\r\nA.甲 B.乙\r\n答案：A\r\n"
    result = read_txt(text, "gbk")
    assert only(result) == [
        ("single", "全角题号的题干", ["甲", "乙"], [1]),
        ("single", "第二题", ["甲", "乙"], [0]),
    ]


def test_errors_name_the_question_and_its_line():
    text = "1．没有答案的题\nA．甲\nB．乙\n2．答案超出选项\nA．甲\nB．乙\n答案：D\n"
    result = read_txt(text)
    assert [(e.row, e.column) for e in result.errors] == [(1, "答案"), (4, "答案")]
    assert result.errors[0].message.startswith("第 1 题：缺少答案")
    assert "答案「D」不是已填写的选项" in result.errors[1].message
    # What was read of each refused question, in the template's columns, for the error file.
    assert result.refused[4][:4] == ["单选", "答案超出选项", "甲", "乙"]


# ---------------------------------------------------------------- detection


AIKEN = b"Stem one\nA. x\nB. y\nANSWER: A\n\nStem two\nA. x\nB. y\nANSWER: B\n"
GIFT = "行政处罚的追责时效一般为 {~一年 =二年 ~三年}\n\n宪法是根本法 {T}\n".encode()
NUMBERED_GBK = "一、单项选择题\n1．题干一\nA．甲 B．乙\n答案：A\n".encode("gbk")


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(AIKEN, "aiken"), (GIFT, "gift"), (NUMBERED_GBK, "cn_text")],
)
def test_detection_picks_the_layout_that_reads_the_file(data, fmt):
    assert formats.detect_format("题库.txt", data) == fmt
    chosen, result, notes = formats.read(data, "题库.txt")
    assert chosen == fmt and result.rows and result.errors == []
    assert notes[0].startswith(f"按{formats.FORMATS[fmt].label}读取")


def test_a_text_file_no_layout_reads_says_what_was_expected_with_examples():
    _, result, _ = formats.read("这只是一段说明文字，没有题目。\n".encode(), "说明.txt")
    [error] = result.errors
    assert error.row == 0 and "无法识别文本题库的写法" in error.message
    for example in ("答案：B", "参考答案：1-5 ABCDA", "ANSWER: B", "{~一年 =二年 ~三年}"):
        assert example in error.message


def test_a_numbered_file_whose_questions_all_fail_shows_their_errors_not_gift():
    data = "1．题干一\nA．甲\nB．乙\n2．题干二\nA．甲\nB．乙\n".encode("gbk")
    fmt, result, _ = formats.read(data, "题库.txt")
    assert fmt == "cn_text"
    assert [e.row for e in result.errors] == [1, 4]
    assert all("description" not in e.message for e in result.errors)


def test_named_formats_and_old_word_files():
    assert formats.detect_format("题库.docx") == "docx"
    fmt, result, _ = formats.read(b"\xd0\xcf\x11\xe0rest", "题库.doc")
    assert fmt is None and "另存为 .docx" in result.errors[0].message


# ---------------------------------------------------------------- Word


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_word_paragraphs_soft_breaks_and_an_option_table():
    document = Document()
    document.add_paragraph("一、单项选择题")
    document.add_paragraph("1．行政处罚的追责时效一般为（ ）。")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(
        [c for row in table.rows for c in row.cells],
        ["A．一年", "B．二年", "C．三年", "D．五年"],
        strict=True,
    ):
        cell.text = text
    document.add_paragraph("答案：B")
    document.add_paragraph("二、判断题")
    paragraph = document.add_paragraph("1．宪法是国家的根本法。")
    paragraph.add_run().add_break()  # Shift+Enter: a new line in the same paragraph
    paragraph.add_run("答案：正确")
    result = parse_docx(docx_bytes(document))
    assert only(result) == [
        ("single", "行政处罚的追责时效一般为（ ）。", ["一年", "二年", "三年", "五年"], [1]),
        ("true_false", "宪法是国家的根本法。", ["正确", "错误"], [0]),
    ]


def test_word_table_in_the_template_columns_is_read_as_the_template():
    document = Document()
    document.add_paragraph("说明：本表按题库模板填写。")
    table = document.add_table(rows=3, cols=5)
    rows = [
        ["题型", "题干", "选项A", "选项B", "答案"],
        ["单选", "表格中的单选题", "甲", "乙", "B"],
        ["判断", "表格中的判断题", "", "", "错误"],
    ]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    result = parse_docx(docx_bytes(document))
    assert only(result) == [
        ("single", "表格中的单选题", ["甲", "乙"], [1]),
        ("true_false", "表格中的判断题", ["正确", "错误"], [1]),
    ]
    assert [r.row for r in result.rows] == [2, 3]


def test_word_question_with_an_image_is_refused_by_number():
    document = Document()
    document.add_paragraph("1．看图回答：下图中的标志表示什么？")
    document.add_picture(io.BytesIO(png_bytes()))
    document.add_paragraph("A．禁止通行 B．注意安全")
    document.add_paragraph("答案：A")
    document.add_paragraph("2．没有图片的题")
    document.add_paragraph("A．甲 B．乙")
    document.add_paragraph("答案：B")
    result = parse_docx(docx_bytes(document))
    assert [r.draft.stem for r in result.rows] == ["没有图片的题"]
    [error] = result.errors
    assert error.message.startswith("第 1 题：含有图片或嵌入对象，无法导入")


def with_part(data: bytes, name: str, content: bytes) -> bytes:
    """The package with one part replaced."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, content if item.filename == name else source.read(item))
    return buffer.getvalue()


def test_a_word_file_without_questions_says_what_a_question_looks_like():
    document = Document()
    document.add_paragraph("")
    [error] = parse_docx(docx_bytes(document)).errors
    assert error.message == NOTHING_READ


def test_word_with_a_dtd_is_refused_before_parsing():
    document = Document()
    document.add_paragraph("1．题干")
    data = docx_bytes(document)
    original = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    hostile = original.replace(
        b"?>",
        b'?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        1,
    ).replace(b"1\xef\xbc\x8e", b"1\xef\xbc\x8e&xxe;", 1)
    result = parse_docx(with_part(data, "word/document.xml", hostile))
    assert [e.message for e in result.errors] == [HAS_DTD]
    assert result.rows == []


def test_word_zip_bomb_and_damaged_files_are_refused():
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<a>" + b" " * (50 * 1024 * 1024) + b"</a>")
    assert "压缩比异常" in parse_docx(bomb.getvalue()).errors[0].message
    assert parse_docx(b"not a zip").errors[0].message == NOT_DOCX
    assert parse_docx(b"\xd0\xcf\x11\xe0" + b"\0" * 100).errors[0].message == OLD_DOC
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
    assert parse_docx(workbook.getvalue()).errors[0].message == NOT_DOCX


def numbered_list(document, num_id: str, levels: list[tuple[str, str]]):
    """Add a list definition to the document: levels of (number format, label pattern)."""
    from docx.oxml import parse_xml

    namespace = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    level_xml = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{pattern}"/></w:lvl>'
        for i, (fmt, pattern) in enumerate(levels)
    )
    numbering = document.part.numbering_part.element
    numbering.append(
        parse_xml(
            f'<w:abstractNum {namespace} w:abstractNumId="{num_id}">{level_xml}</w:abstractNum>'
        )
    )
    numbering.append(
        parse_xml(
            f'<w:num {namespace} w:numId="{num_id}"><w:abstractNumId w:val="{num_id}"/></w:num>'
        )
    )


def numbered(document, text: str, num_id: str, level: int):
    from docx.oxml import parse_xml

    paragraph = document.add_paragraph(text)
    paragraph._p.get_or_add_pPr().append(
        parse_xml(
            '<w:numPr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'
        )
    )


def test_word_automatic_list_numbering_reads_as_written_numbers():
    document = Document()
    numbered_list(document, "901", [("decimal", "%1．"), ("upperLetter", "%2．")])
    for stem, answer in (("自动编号的第一题", "B"), ("自动编号的第二题", "A")):
        numbered(document, stem, "901", 0)
        numbered(document, "甲", "901", 1)
        numbered(document, "乙", "901", 1)
        document.add_paragraph(f"答案：{answer}")
    result = parse_docx(docx_bytes(document))
    assert only(result) == [
        ("single", "自动编号的第一题", ["甲", "乙"], [1]),
        ("single", "自动编号的第二题", ["甲", "乙"], [0]),
    ]


def test_word_numbering_from_a_paragraph_style_reads_as_written_numbers():
    """Banks numbered through a list style (List Number, or a style of their own based
    on one) carry no numbering on the paragraphs themselves."""
    from docx.oxml import parse_xml

    document = Document()
    numbered_list(document, "902", [("decimal", "%1、"), ("upperLetter", "%2．")])
    namespace = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    styles = document.styles.element
    styles.append(
        parse_xml(
            f'<w:style {namespace} w:type="paragraph" w:styleId="QuestionNumber">'
            '<w:name w:val="题号"/><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="902"/>'
            "</w:numPr></w:pPr></w:style>"
        )
    )
    styles.append(
        parse_xml(
            f'<w:style {namespace} w:type="paragraph" w:styleId="OptionLetter">'
            '<w:name w:val="选项"/><w:basedOn w:val="QuestionNumber"/>'
            '<w:pPr><w:numPr><w:ilvl w:val="1"/></w:numPr></w:pPr></w:style>'
        )
    )
    styles.append(
        parse_xml(
            f'<w:style {namespace} w:type="paragraph" w:styleId="OptionPlain">'
            '<w:name w:val="选项二"/><w:basedOn w:val="OptionLetter"/></w:style>'
        )
    )

    def styled(text: str, style_id: str):
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(
            parse_xml(f'<w:pStyle {namespace} w:val="{style_id}"/>')
        )

    for stem, answer in (("样式编号的第一题", "B"), ("样式编号的第二题", "A")):
        styled(stem, "QuestionNumber")
        styled("甲", "OptionLetter")
        styled("乙", "OptionPlain")
        document.add_paragraph(f"答案：{answer}")
    result = parse_docx(docx_bytes(document))
    assert only(result) == [
        ("single", "样式编号的第一题", ["甲", "乙"], [1]),
        ("single", "样式编号的第二题", ["甲", "乙"], [0]),
    ]
    assert [row.row for row in result.rows] == [1, 5]


def test_fill_in_keys_in_the_key_block_under_their_heading():
    text = """一、单项选择题
1．单选第一题
A．甲 B．乙
二、填空题
1．当事人应当自收到行政处罚决定书之日起____内，到指定的银行缴纳罚款。
2．行政复议机关收到申请后，应当在____日内进行审查。

参考答案
一、单项选择题
1. B
二、填空题
1．十五日/15日
2．五
"""
    result = read_txt(text)
    read = [(r.draft.type, r.draft.answer, r.draft.blanks) for r in result.rows]
    assert result.errors == []
    assert read == [
        ("single", [1], []),
        ("fill_blank", [], [["十五日", "15日"]]),
        ("fill_blank", [], [["五"]]),
    ]
    assert "答案取自文末参考答案「1.十五日/15日」" in notes_of(result)[1]


def test_a_key_block_after_each_section_leaves_the_next_heading_to_the_body():
    text = """一、填空题
1．罚款应当在____内缴纳。
参考答案
1．十五日
二、判断题
1．宪法是国家的根本法。
2．行政法规可以设定限制人身自由的行政处罚。
参考答案：1-2 √×
"""
    result = read_txt(text)
    read = [(r.draft.type, r.draft.answer, r.draft.blanks) for r in result.rows]
    assert result.errors == []
    assert read == [
        ("fill_blank", [], [["十五日"]]),
        ("true_false", [0], []),
        ("true_false", [1], []),
    ]
    assert "题型取自标题「判断题」" in notes_of(result)[1]


def test_a_numbered_question_with_a_blank_after_a_fill_in_key_block_is_a_question():
    text = """填空题
1．罚款应当在____内缴纳。
参考答案
填空题
1．十五日
2．听证应当在举行____日前通知当事人。
答案：七
"""
    result = read_txt(text)
    read = [(r.draft.type, r.draft.blanks) for r in result.rows]
    assert result.errors == []
    assert read == [("fill_blank", [["十五日"]]), ("fill_blank", [["七"]])]
