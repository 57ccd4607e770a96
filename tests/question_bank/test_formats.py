import csv
import io
import re
import time
from dataclasses import replace

import openpyxl
import pytest

from question_bank.drafts import LawRefDraft, QuestionDraft
from question_bank.formats import detect_format, export, export_with_warnings, parse
from tests.factories import HEADER
from tests.spreadsheet_files import whole_sheet_range, zip_bomb

HOSTILE = "<script>alert(1)</script> 与 &amp; 及 {=~#:} \\ 反斜杠"

DRAFTS = [
    QuestionDraft(
        type="single",
        stem="根据行政处罚法，下列哪一项不属于行政处罚的种类？",
        choices=["警告", "罚款", "行政拘留", "记过"],
        answer=[3],
        blanks=[],
        explanation="记过是政务处分，不是行政处罚。",
        difficulty=2,
        law_refs=[LawRefDraft("行政处罚法", "2021年修订", 9)],
        topics=["行政处罚的种类", "总则"],
    ),
    QuestionDraft(
        type="multiple",
        stem="行政机关作出下列哪些决定前，应当告知当事人有要求听证的权利？\n（多选）",
        choices=["较大数额罚款", "没收较大数额违法所得", "降低资质等级", "警告", "=1+1 不是公式"],
        answer=[0, 1, 2],
        blanks=[],
        explanation="第六十三条。",
        difficulty=4,
        law_refs=[
            LawRefDraft("行政处罚法", "2021年修订", 63),
            LawRefDraft("行政处罚法", "2021年修订", 64),
        ],
        topics=["听证程序"],
    ),
    QuestionDraft("true_false", "宪法是国家的根本法。", ["正确", "错误"], [0], [], difficulty=1),
    QuestionDraft("true_false", "规章可以设定限制人身自由的行政处罚。", ["正确", "错误"], [1], []),
    QuestionDraft(
        "fill_blank",
        "当事人要求听证的，应当在行政机关告知后____内提出。",
        [],
        [],
        [["五日", "5日"]],
        explanation="第六十四条第一项。",
        law_refs=[LawRefDraft("行政处罚法", None, 64)],
    ),
    QuestionDraft(
        "single", HOSTILE, ["[甲] 方括号开头", "//斜线开头", "%50%百分号", "'+引号开头"], [1], []
    ),
]
MULTI_BLANK = QuestionDraft(
    "fill_blank",
    "行政复议期间为____，复杂案件可延长____。",
    [],
    [],
    [["六十日"], ["三十日", "30日"]],
)


def xlsx_bytes(rows, title=None, sheets_before=()):
    workbook = openpyxl.Workbook()
    first = workbook.active
    for name, lines in sheets_before:
        sheet = workbook.create_sheet(name, 0)
        for line in lines:
            sheet.append(line)
    if title:
        first.append([title])
    for row in rows:
        first.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def only_error(result):
    assert result.rows == []
    assert len(result.errors) == 1
    return result.errors[0]


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_round_trip_keeps_every_field(fmt):
    drafts = [*DRAFTS, MULTI_BLANK]
    result = parse(export(drafts, fmt), fmt)
    assert result.errors == []
    assert [row.draft for row in result.rows] == drafts
    assert [row.row for row in result.rows] == list(range(2, len(drafts) + 2))


@pytest.mark.parametrize("fmt", ["gift", "moodle_xml"])
def test_moodle_round_trip_keeps_what_the_format_carries(fmt):
    data, warnings, written = export_with_warnings([*DRAFTS, MULTI_BLANK], fmt)
    assert written == len(DRAFTS)
    result = parse(data, fmt)
    assert result.errors == []
    # Difficulty and law references have no place in GIFT or Moodle XML.
    expected = [replace(d, difficulty=None, law_refs=[]) for d in DRAFTS]
    assert [row.draft for row in result.rows] == expected
    assert len(warnings) == 1
    assert "第7题" in warnings[0]
    assert "已跳过" in warnings[0]


def test_xlsx_export_writes_text_never_formulas():
    workbook = openpyxl.load_workbook(io.BytesIO(export(DRAFTS, "xlsx")))
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == [
        "题型", "题干", *(f"选项{x}" for x in "ABCDEFGH"),
        "答案", "解析", "难度", "法律依据", "知识点",
        "案例", "分值", "得分要点", "字数上限", "案例表格",
    ]  # fmt: skip
    cell = sheet["G3"]
    assert cell.value == "=1+1 不是公式"
    assert cell.data_type == "s"
    assert sheet["K2"].value == "D"
    assert sheet["K4"].value == "正确"
    assert sheet["N3"].value == "行政处罚法（2021年修订）第63条、第64条"
    assert sheet["O2"].value == "行政处罚的种类|总则"


def test_csv_export_guards_formulas_and_has_bom():
    data = export(DRAFTS, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    assert "'=1+1 不是公式" in data.decode("utf-8-sig")


def test_aiken_import():
    text = (
        "依法不得设定行政强制措施的是：\r\n"
        "A. 法律\r\nB. 行政法规\r\nC. 规章\r\nD) 地方性法规\r\n"
        "ANSWER: C\r\n\r\n"
        "行政处罚不包括：\n多选一行写不下\nA、警告\nB、记过\nC．罚款\nD）政务处分\n答案：BD\n\n"
        "宪法是根本法。\nA. 正确\nB. 错误\nANSWER: A\n"
    )
    result = parse(text.encode(), "aiken")
    assert result.errors == []
    drafts = [row.draft for row in result.rows]
    assert [row.row for row in result.rows] == [1, 8, 16]
    assert drafts[0] == QuestionDraft(
        "single",
        "依法不得设定行政强制措施的是：",
        ["法律", "行政法规", "规章", "地方性法规"],
        [2],
        [],
    )
    assert drafts[1].type == "multiple"
    assert drafts[1].stem == "行政处罚不包括：\n多选一行写不下"
    assert drafts[1].answer == [1, 3]
    assert drafts[2] == QuestionDraft("true_false", "宪法是根本法。", ["正确", "错误"], [0], [])


def test_aiken_errors_name_the_line():
    text = (
        "只有一个选项\nA) 唯一\nANSWER: A\n\n"
        "A) 没有题干\n\nANSWER: A\n\n"
        "没有答案行\nA) 甲\nB) 乙\n\n"
        "答案越界\nA) 甲\nB) 乙\nANSWER: D\n"
    )
    errors = parse(text.encode(), "aiken").errors
    assert [(e.row, e.column) for e in errors] == [
        (1, "选项"),
        (5, "题干"),
        (9, "答案"),
        (13, "答案"),
    ]
    assert errors[3].message == "答案「D」不是已填写的选项（只有A–B）"


# ---------------------------------------------------------------- malformed template files


def test_missing_answer_names_row_and_column():
    data = xlsx_bytes([HEADER, ["单选", "题干", "甲", "乙", "", "", "", "", "", "", ""]])
    error = only_error(parse(data, "xlsx"))
    assert (error.row, error.column, error.message) == (2, "答案", "答案不能为空")


def test_answer_naming_a_missing_choice():
    data = xlsx_bytes([HEADER, ["单选", "题干", "甲", "乙", "丙", "丁", "E", "", "", "", ""]])
    error = only_error(parse(data, "xlsx"))
    assert (error.row, error.column) == (2, "答案")
    assert error.message == "答案「E」不是已填写的选项（只有A–D）"


def test_unknown_type():
    data = xlsx_bytes(
        [HEADER, ["主观", "简述行政处罚的原则。", "", "", "", "", "公正公开", "", "", "", ""]]
    )
    error = only_error(parse(data, "xlsx"))
    assert (error.row, error.column) == (2, "题型")
    assert error.message == (
        "不支持的题型「主观」（仅支持单选、多选、判断、填空、简答、论述，案例材料行写「案例」）"
    )


def test_empty_stem():
    data = xlsx_bytes([HEADER, ["判断", " \xa0", "", "", "", "", "正确", "", "", "", ""]])
    error = only_error(parse(data, "xlsx"))
    assert (error.row, error.column, error.message) == (2, "题干", "题干不能为空")


def test_bad_encoding_is_a_file_error():
    error = only_error(parse(b"\xff\xff\xff\xfe\x00", "csv"))
    assert error.row == 0
    assert error.message == "无法识别文件编码（支持 UTF-8 与 GB18030/GBK）"


@pytest.mark.parametrize(
    ("data", "message"),
    [(zip_bomb(), "疑似压缩炸弹"), (whole_sheet_range(["题型", "题干"]), "A1:XFD1048576")],
    ids=["zip-bomb", "whole-sheet-range"],
)
def test_hostile_xlsx_is_a_file_error_without_parsing_it(data, message):
    started = time.perf_counter()
    error = only_error(parse(data, "xlsx"))
    assert time.perf_counter() - started < 5
    assert error.row == 0 and message in error.message


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_xlsx_is_a_file_error(cut):
    data = export(DRAFTS, "xlsx")
    error = only_error(parse(data[: int(len(data) * cut)], "xlsx"))
    assert error.message == "文件不是有效的 .xlsx 文件或已损坏"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件不是有效的 .xlsx 文件或已损坏"),
        (b"hello, world", "文件不是有效的 .xlsx 文件或已损坏"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持旧版 .xls 文件"),
    ],
)
def test_not_an_xlsx(data, message):
    assert message in only_error(parse(data, "xlsx")).message


def test_missing_required_header():
    data = xlsx_bytes([["题型", "题干", "选项A", "选项B"], ["单选", "题", "甲", "乙"]])
    error = only_error(parse(data, "xlsx"))
    assert (error.row, error.message) == (1, "缺少必填列：答案")
    error = only_error(parse(csv_bytes([["序号", "名称"], ["1", "x"]]), "csv"))
    assert "未找到表头行" in error.message


def test_duplicate_rows_are_reported_with_the_first_row():
    row = ["单选", "行政处罚由谁实施？", "行政机关", "法院", "", "", "A", "", "", "", ""]
    near_copy = [
        "单选",
        "行政处罚由谁实施?",
        "法院",
        "行政机关。",
        "",
        "",
        "B",
        "不同解析",
        "",
        "",
        "",
    ]
    other = ["判断", "行政处罚由行政机关实施。", "", "", "", "", "对", "", "", "", ""]
    result = parse(xlsx_bytes([HEADER, row, other, near_copy, row]), "xlsx")
    assert result.errors == []
    assert result.duplicates == [(4, 2), (5, 2)]


def test_every_error_is_chinese_and_names_row_and_column():
    rows = [
        HEADER,
        ["问答", "简述。", "", "", "", "", "略", "", "", "", ""],
        ["单选", "", "甲", "乙", "", "", "A", "", "", "", ""],
        ["单选", "题", "甲", "", "丙", "", "A", "", "", "", ""],
        ["单选", "题", "甲", "乙", "", "", "AB", "", "", "", ""],
        ["多选", "题", "甲", "乙", "丙", "", "A", "", "", "", ""],
        ["多选", "题", "甲", "乙", "丙", "", "A?", "", "", "", ""],
        ["判断", "题", "", "", "", "", "也许", "", "", "", ""],
        ["填空", "____和____", "", "", "", "", "甲", "", "", "", ""],
        ["单选", "题", "甲", "乙", "", "", "A", "", "很难", "", ""],
        ["单选", "题", "甲", "乙", "", "", "A", "", "", "行政处罚法", ""],
        ["单选", "题", "甲", "甲", "", "", "A", "", "", "", ""],
        ["单选", "题", "甲", "乙", "", "", "A", "", "", "", "长" * 51],
    ]
    result = parse(xlsx_bytes(rows), "xlsx")
    assert result.rows == []
    assert sorted(e.row for e in result.errors) == list(range(2, 14))
    for error in result.errors:
        # "选项" stands for the option columns as a group; the message names the letter.
        assert error.column in [*HEADER, "选项"]
        assert re.search(r"[\u4e00-\u9fff]", error.message), error
    columns = {e.row: e.column for e in result.errors}
    assert columns == {
        2: "题型", 3: "题干", 4: "选项", 5: "答案", 6: "答案", 7: "答案", 8: "答案",
        9: "答案", 10: "难度", 11: "法律依据", 12: "选项", 13: "知识点",
    }  # fmt: skip


# ---------------------------------------------------------------- real-world template variations


def test_gb18030_csv_without_bom():
    rows = [
        HEADER,
        [
            "单选",
            "《宪法》规定的国家根本任务是？",
            "发展经济",
            "社会主义现代化建设",
            "",
            "",
            "B",
            "",
            "",
            "",
            "",
        ],
    ]
    result = parse(csv_bytes(rows, encoding="gb18030"), "csv")
    assert result.errors == []
    assert result.rows[0].draft.choices == ["发展经济", "社会主义现代化建设"]


def test_utf8_bom_csv_and_tab_delimiter():
    rows = [HEADER, ["判断", "宪法是根本法", "", "", "", "", "√", "", "3.0", "", ""]]
    for data in (csv_bytes(rows, "utf-8-sig"), csv_bytes(rows, "utf-8-sig", delimiter="\t")):
        result = parse(data, "csv")
        assert result.errors == []
        assert result.rows[0].draft.answer == [0]
        assert result.rows[0].draft.difficulty == 3


def test_xlsx_under_a_csv_name_is_read_as_xlsx():
    data = xlsx_bytes([HEADER, ["判断", "宪法是根本法", "", "", "", "", "正确", "", "", "", ""]])
    assert len(parse(data, "csv").rows) == 1


def test_header_synonyms_title_row_and_instruction_sheet():
    header = ["题号", "题目类型", "问题内容（必填）", "A", "B", "C", "D", "正确选项", "答案解析",
              "难易程度", "考点", "依据", "分值", "正确答案文本"]  # fmt: skip
    row = [1, "单项选择题", "行政复议期限为？", "三十日", "六十日", "九十日", None, "b", "见第六十二条",
           "中等", "复议、期限", "行政复议法（2023年修订）第六十二条", 2.0, "六十日"]  # fmt: skip
    instructions = ("使用说明", [["题型：单选题、多选题……"], ["正确答案：A,B,C"]])
    data = xlsx_bytes([header, row], title="行政复议法题库（2024）", sheets_before=[instructions])
    result = parse(data, "xlsx")
    assert result.errors == []
    assert result.rows[0].row == 3
    assert result.rows[0].draft == QuestionDraft(
        type="single",
        stem="行政复议期限为？",
        choices=["三十日", "六十日", "九十日"],
        answer=[1],
        blanks=[],
        explanation="见第六十二条",
        difficulty=3,
        law_refs=[LawRefDraft("行政复议法", "2023年修订", 62)],
        topics=["复议", "期限"],
    )


def test_header_cells_with_nbsp_and_spaces():
    header = ["\xa0题型 ", "题 干", "选项 A", "选项Ｂ", "答案\xa0"]
    result = parse(xlsx_bytes([header, ["单选", "题", "甲", "乙", "A"]]), "xlsx")
    assert result.errors == []


def test_all_options_in_one_cell():
    header = ["题型", "题干", "选项", "答案"]
    rows = [
        ["单选题", "甲", "A.选项一|B.选项二|C、选项三|D．选项四", "C"],
        ["多选题", "乙", "A:一|B：二|C)三", "A,C"],
        ["判断题", "丙", "A.错误|B.正确", "A"],
    ]
    result = parse(xlsx_bytes([header, *rows]), "xlsx")
    assert result.errors == []
    drafts = [row.draft for row in result.rows]
    assert drafts[0].choices == ["选项一", "选项二", "选项三", "选项四"]
    assert drafts[0].answer == [2]
    assert drafts[1].choices == ["一", "二", "三"]
    assert drafts[1].answer == [0, 2]
    assert drafts[2].answer == [1]


@pytest.mark.parametrize(
    ("kind", "answer", "expected"),
    [
        ("单选", "B", [1]),
        ("单选", " b ", [1]),
        ("单选", "Ｂ", [1]),
        ("单选", "选项B", [1]),
        ("单选", "乙", [1]),  # the option's text instead of its letter
        ("多选", "ABD", [0, 1, 3]),
        ("多选", "A,B,D", [0, 1, 3]),
        ("多选", "A、B、D", [0, 1, 3]),
        ("多选", "A|B|D", [0, 1, 3]),
        ("多选", "A B D", [0, 1, 3]),
        ("多选", "选项ABD", [0, 1, 3]),
        ("多选", "abd", [0, 1, 3]),
        ("多选", "ＡＢＤ", [0, 1, 3]),
        ("不定项", "D,A", [0, 3]),
        ("判断", "正确", [0]),
        ("判断", "错误", [1]),
        ("判断", "对", [0]),
        ("判断", "错", [1]),
        ("判断", "√", [0]),
        ("判断", "×", [1]),
        ("判断", "✓", [0]),
        ("判断", "✗", [1]),
        ("判断", "T", [0]),
        ("判断", "F", [1]),
        ("判断", "是", [0]),
        ("判断", "否", [1]),
    ],
)
def test_answer_notations(kind, answer, expected):
    options = ["甲", "乙", "丙", "丁"] if kind != "判断" else ["", "", "", ""]
    data = xlsx_bytes([HEADER, [kind, "题干", *options, answer, "", "", "", ""]])
    result = parse(data, "xlsx")
    assert result.errors == []
    assert result.rows[0].draft.answer == expected


@pytest.mark.parametrize(
    ("options", "answer", "expected"),
    [
        (["正确", "错误"], "A", [0]),
        (["正确", "错误"], "B", [1]),
        (["错误", "正确"], "A", [1]),  # A is 错误 in this row: read the option text
        (["对", "错"], "B", [1]),
        ([], "A", [0]),  # no option texts: A means 正确
    ],
)
def test_true_false_letter_reads_option_text(options, answer, expected):
    cells = [*options, "", "", "", ""][:4]
    result = parse(xlsx_bytes([HEADER, ["判断题", "题干", *cells, answer, "", "", "", ""]]), "xlsx")
    assert result.errors == []
    assert result.rows[0].draft.answer == expected
    assert result.rows[0].draft.choices == ["正确", "错误"]


def test_true_false_letter_with_unreadable_option():
    data = xlsx_bytes([HEADER, ["判断", "题干", "可能", "不可能", "", "", "A", "", "", "", ""]])
    error = only_error(parse(data, "xlsx"))
    assert error.message == "答案「A」对应的选项「可能」不是「正确」或「错误」"


@pytest.mark.parametrize(
    ("stem", "answer", "options", "blanks"),
    [
        ("听证应在____内提出", "五日/5日/ 五天 ", [], [["五日", "5日", "五天"]]),
        ("____提出，____举行", "五日/5日|七日", [], [["五日", "5日"], ["七日"]]),
        (
            "____、____和____",
            "统一指挥、逐级指挥、属地指挥",
            [],
            [["统一指挥"], ["逐级指挥"], ["属地指挥"]],
        ),
        ("方针是____", "预防为主、防消结合", [], [["预防为主、防消结合"]]),
        ("分别为___和___", "", ["true", "false"], [["true"], ["false"]]),
        ("（ ）是根本法", "宪法", [], [["宪法"]]),
    ],
)
def test_fill_blank_alternatives(stem, answer, options, blanks):
    cells = [*options, "", "", "", ""][:4]
    result = parse(xlsx_bytes([HEADER, ["填空题", stem, *cells, answer, "", "", "", ""]]), "xlsx")
    assert result.errors == []
    assert result.rows[0].draft.blanks == blanks


@pytest.mark.parametrize(
    ("cell", "difficulty"),
    [("", None), ("1", 1), (5, 5), (3.0, 3), ("简单", 2), ("容易", 2), ("中等", 3), ("一般", 3),
     ("困难", 4), ("较难", 4)],
)  # fmt: skip
def test_difficulty_cells(cell, difficulty):
    data = xlsx_bytes([HEADER, ["判断", "题干", "", "", "", "", "对", "", cell, "", ""]])
    assert parse(data, "xlsx").rows[0].draft.difficulty == difficulty


def test_topics_separators_and_numbers_from_excel():
    row = ["单选", "2+2=?", 3, 4.0, 4.5, None, "B", "", "", "", "总则|处罚，程序,听证、期限;送达"]
    draft = parse(xlsx_bytes([HEADER, row]), "xlsx").rows[0].draft
    assert draft.choices == ["3", "4", "4.5"]
    assert draft.topics == ["总则", "处罚", "程序", "听证", "期限", "送达"]


@pytest.mark.parametrize(
    ("options", "choices", "notes"),
    [
        (
            ["A.java", "b、.class", "c.拾得人", "Ｄ：超声波"],
            ["java", ".class", "拾得人", "超声波"],
            ["已去掉选项前的字母编号（如「A.」）"],
        ),
        # The real row: D and S are patent kind codes, content of option D.
        (
            ["发明专利", "实用新型", "外观设计", "D、S用于标识外观设计专利"],
            ["发明专利", "实用新型", "外观设计", "D、S用于标识外观设计专利"],
            [],
        ),
        (
            ["A.java", "b、.class", "c.拾得人", "D超声波"],
            ["A.java", "b、.class", "c.拾得人", "D超声波"],
            [],
        ),
        (["B.甲", "A.乙"], ["B.甲", "A.乙"], []),
    ],
    ids=["all-numbered", "letter-is-content", "one-unnumbered", "wrong-letters"],
)
def test_option_letters_come_off_only_when_every_option_carries_its_own(options, choices, notes):
    row = ["单选", "题干", *options, *[""] * (4 - len(options)), "B", "", "", "", ""]
    for data, fmt in ((xlsx_bytes([HEADER, row]), "xlsx"), (csv_bytes([HEADER, row]), "csv")):
        [parsed] = parse(data, fmt).rows
        assert parsed.draft.choices == choices
        assert parsed.notes == notes


def test_control_characters_line_ends_and_nbsp_are_normalised():
    rows = [
        HEADER,
        ["判断", "第一行\r\n第二行\x0b\xa0", "", "", "", "", "对", "解\x00析", "", "", ""],
    ]
    draft = parse(csv_bytes(rows), "csv").rows[0].draft
    assert draft.stem == "第一行\n第二行"
    assert draft.explanation == "解析"
    dirty = replace(draft, stem="题\x0b干", explanation="\x01")
    for fmt in ("xlsx", "moodle_xml"):
        assert parse(export([dirty], fmt), fmt).rows[0].draft.stem == "题干"


def test_empty_rows_skipped_and_row_numbers_kept():
    rows = [
        HEADER,
        [None] * 11,
        ["判断", "题干", "", "", "", "", "对", "", "", "", ""],
        ["", " ", "\xa0"],
    ]
    result = parse(xlsx_bytes(rows), "xlsx")
    assert [row.row for row in result.rows] == [3]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "gift", "moodle_xml"])
def test_hostile_text_survives_as_plain_text(fmt):
    draft = QuestionDraft("true_false", HOSTILE, ["正确", "错误"], [0], [], explanation=HOSTILE)
    parsed = parse(export([draft], fmt), fmt).rows[0].draft
    assert parsed.stem == HOSTILE
    assert parsed.explanation == HOSTILE


# ---------------------------------------------------------------- GIFT


def gift(text):
    return parse(text.encode(), "gift")


def test_gift_question_types_and_weights():
    text = (
        "// 单选\n::Q1:: 行政处罚由谁实施？{~法院 =行政机关 ~检察院}\n\n"
        "下列哪些属于行政处罚？{\n  ~%50%警告\n  ~%50%罚款\n  ~%-100%记过\n}\n\n"
        "部分得分仍是单选。{~错 ~%50%半对 =全对}\n\n"
        "宪法是根本法。{T}\n\n规章可以设定行政拘留。{FALSE#错。#对。####只能由法律设定。}\n\n"
        "听证应在{=五日 =5日 =%50%一周#差不多 =%0%*}内提出。\n\n"
        "行政复议机关是？{=复议机关}"
    )
    result = gift(text)
    assert result.errors == []
    drafts = [row.draft for row in result.rows]
    assert [row.row for row in result.rows] == [2, 4, 10, 12, 14, 16, 18]
    assert drafts[0] == QuestionDraft(
        "single", "行政处罚由谁实施？", ["法院", "行政机关", "检察院"], [1], []
    )
    assert (drafts[1].type, drafts[1].answer) == ("multiple", [0, 1])
    assert (drafts[2].type, drafts[2].answer) == ("single", [2])
    assert drafts[3].answer == [0]
    assert drafts[4].answer == [1]
    assert drafts[4].explanation == "只能由法律设定。"
    assert drafts[5] == QuestionDraft(
        "fill_blank", "听证应在____内提出。", [], [], [["五日", "5日"]]
    )
    assert drafts[6].blanks == [["复议机关"]]


def test_gift_escapes_html_marker_categories_and_tags():
    text = (
        "$CATEGORY: $course$/法治/行政处罚\r\n\r\n"
        "// [tag:听证] [tag:程序\\]A]\r\n"
        "[html]<p>选出 \\{ 等式 \\} &amp; 比较：</p>{=\\= 2 + 3 ~\\~ 4 ~a\\:b ~\\# c ~\\\\}\r\n"
    )
    result = gift(text)
    assert result.errors == []
    draft = result.rows[0].draft
    assert draft.stem == "选出 { 等式 } & 比较："
    assert draft.choices == ["= 2 + 3", "~ 4", "a:b", "# c", "\\"]
    assert draft.topics == ["行政处罚", "听证", "程序]A"]
    assert result.rows[0].row == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("说说你的看法。{}", "不支持的题型：essay（问答）（仅支持单选、多选、判断、填空）"),
        ("几年？{#2}", "不支持的题型：numerical"),
        ("配对。{=甲 -> 1 =乙 -> 2}", "不支持的题型：matching"),
        ("只有说明文字。", "不支持的题型：description"),
        ("首都：{1:SHORTANSWER:=北京}", "不支持的题型：cloze"),
        ("缺右括号 {=甲 ~乙", "大括号不配对"),
        ("两个答案区 {=甲 ~乙} 和 {=丙 ~丁}", "只能有一个 { } 答案区"),
        ("只有部分分 {=%50%甲}", "填空题没有得满分（100%）的答案"),
        ("坏权重 {~%abc%甲 =乙}", "得分比例「%abc%甲」无法识别"),
        ("单个选项 {=甲 ~}", "单选题至少需要2个选项"),
    ],
)
def test_gift_errors(text, message):
    result = gift("// 注释\n\n// 题前注释\n" + text)
    assert result.rows == []
    [error] = result.errors
    assert error.row == 4
    assert message in error.message


# ---------------------------------------------------------------- Moodle XML

XML_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/法治/行政处罚</text></category></question>
  <question type="multichoice">
    <name><text>Q1</text></name>
    <questiontext format="html"><text><![CDATA[<p>下列哪些属于<b>行政处罚</b>？&nbsp;</p>]]></text></questiontext>
    <generalfeedback format="html"><text>&lt;p&gt;见第九条&lt;/p&gt;</text></generalfeedback>
    <single>false</single>
    <answer fraction="50" format="html"><text><![CDATA[<p>警告</p>]]></text></answer>
    <answer fraction="50"><text>罚款</text></answer>
    <answer fraction="-100"><text>记过</text></answer>
    <tags><tag><text>种类</text></tag></tags>
  </question>
  <question type="truefalse">
    <questiontext format="plain_text"><text>&lt;b&gt;不是标签&lt;/b&gt;</text></questiontext>
    <answer fraction="0"><text>true</text></answer>
    <answer fraction="100"><text>false</text></answer>
  </question>
  <question type="essay"><questiontext><text>简述。</text></questiontext></question>
  <question type="shortanswer">
    <questiontext format="moodle_auto_format"><text>听证应在____内提出。</text></questiontext>
    <answer fraction="100"><text>五日</text></answer>
    <answer fraction="100"><text>5日</text></answer>
    <answer fraction="50"><text>一周</text></answer>
  </question>
  <question type="multichoice">
    <questiontext><text>单选</text></questiontext>
    <answer fraction="abc"><text>甲</text></answer>
  </question>
</quiz>
"""


def test_moodle_xml_import():
    result = parse(XML_SAMPLE.encode(), "moodle_xml")
    drafts = {row.row: row.draft for row in result.rows}
    assert drafts[2] == QuestionDraft(
        "multiple",
        "下列哪些属于行政处罚？",
        ["警告", "罚款", "记过"],
        [0, 1],
        [],
        explanation="见第九条",
        topics=["行政处罚", "种类"],
    )
    assert drafts[3].stem == "<b>不是标签</b>"
    assert drafts[3].answer == [1]
    assert drafts[5].blanks == [["五日", "5日"]]
    assert [(e.row, e.column) for e in result.errors] == [(4, "题型"), (6, "答案")]
    assert result.errors[0].message == "不支持的题型：essay（仅支持单选、多选、判断、填空）"
    assert "fraction=「abc」" in result.errors[1].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (XML_SAMPLE.encode()[:300], "XML 格式错误（第"),
        (b"", "XML 格式错误"),
        (b"<html><body/></html>", "根元素应为 <quiz>"),
        ('<?xml version="1.0" encoding="GBK"?><quiz/>'.encode("gbk"), "请以 UTF-8 编码保存"),
        (b'<?xml version="1.0" encoding="UTFt8"?><quiz/>', "请以 UTF-8 编码保存"),
        (
            b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaa">]><quiz>&a;</quiz>',
            "不能包含 DOCTYPE",
        ),
    ],
)
def test_moodle_xml_file_errors(data, message):
    error = only_error(parse(data, "moodle_xml"))
    assert error.row == 0
    assert message in error.message


LAUGHS = (
    '<!DOCTYPE quiz [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">'
    + "".join(
        f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcde", "bcdef", strict=True)
    )
    + "]>"
)
MOODLE_QUESTION = (
    '<question type="truefalse"><questiontext format="plain_text"><text>&f;</text>'
    '</questiontext><answer fraction="100"><text>true</text></answer>'
    '<answer fraction="0"><text>false</text></answer></question>'
)


@pytest.mark.parametrize(
    "xml",
    [
        # The DTD after a comment longer than the 4 KB the old check read.
        f'<?xml version="1.0"?><!-- {"注释" * 3000} -->{LAUGHS}<quiz>{MOODLE_QUESTION}</quiz>',
        f"{LAUGHS}<quiz>{MOODLE_QUESTION}</quiz>",
        '<!DOCTYPE quiz SYSTEM "http://evil.example/q.dtd"><quiz/>',
        '<!DOCTYPE quiz [<!ENTITY f SYSTEM "file:///etc/passwd">]><quiz>'
        + MOODLE_QUESTION
        + "</quiz>",
        "<!DOCTYPE quiz><quiz/>",
    ],
    ids=["after-long-comment", "billion-laughs", "external-dtd", "external-entity", "bare"],
)
def test_moodle_xml_with_any_dtd_is_refused_unexpanded(xml):
    result = parse(xml.encode(), "moodle_xml")
    error = only_error(result)
    assert error.row == 0
    assert error.message == "XML 文件不能包含 DOCTYPE 或实体声明"


def test_gift_round_trips_private_use_characters_and_escape_lookalikes():
    # PDF extraction leaves private-use characters behind; the old placeholders were U+E000-E007.
    odd = "".join(chr(0xE000 + i) for i in range(9)) + " \\n 字面的反斜杠n \\= {=~#:} %50%"
    drafts = [
        QuestionDraft("single", "// 题干" + odd, ["甲" + odd, "乙\ue003"], [0], [], "解析" + odd),
        QuestionDraft("fill_blank", "填空____" + odd, [], [], [["答案\ue003", "又一个" + odd]]),
    ]
    result = parse(export(drafts, "gift"), "gift")
    assert result.errors == []
    assert [row.draft for row in result.rows] == drafts


def test_gift_export_skips_answers_it_would_misread():
    arrow = QuestionDraft("fill_blank", "箭头", [], [], [["甲->乙"]])
    data, warnings, _ = export_with_warnings([arrow, DRAFTS[2]], "gift")
    assert warnings == ["第1题的答案含“->”，GIFT 会把它读成匹配题，已跳过"]
    assert len(parse(data, "gift").rows) == 1


def test_moodle_xml_export_shape():
    xml = export([DRAFTS[1]], "moodle_xml").decode()
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<single>false</single>" in xml
    assert "<penalty>0.3333333</penalty>" in xml
    assert xml.count('fraction="33.33333"') == 3
    assert xml.count('fraction="-100"') == 2


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize(
    ("filename", "data", "fmt"),
    [
        ("题库.xlsx", None, "xlsx"),
        ("题库.CSV", None, "csv"),
        ("bank.gift", None, "gift"),
        ("bank.xml", None, "moodle_xml"),
        ("questions.aiken.txt", None, "aiken"),
        ("questions.gift.txt", None, "gift"),
        ("导出.txt", b"Stem\nA. x\nB. y\nANSWER: A\n", "aiken"),
        ("导出.txt", b"Stem {=x ~y}\n", "gift"),
        ("旧表.xls", None, None),
        ("无扩展名", None, None),
    ],
)
def test_detect_format(filename, data, fmt):
    assert detect_format(filename, data) == fmt


def test_aiken_is_import_only():
    with pytest.raises(ValueError):
        export(DRAFTS, "aiken")
