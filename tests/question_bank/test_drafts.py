from dataclasses import replace

import pytest

from core.spreadsheets import decode_text
from question_bank.drafts import (
    LawRefDraft,
    QuestionDraft,
    chinese_number,
    clean_draft,
    fingerprint,
    format_law_refs,
    html_to_text,
    parse_answer_letters,
    parse_law_refs,
    true_false_value,
    validate_draft,
)
from question_bank.types import count_blanks

SINGLE = QuestionDraft(
    type="single",
    stem="行政处罚的种类不包括下列哪一项？",
    choices=["警告", "罚款", "行政拘留", "记过"],
    answer=[3],
    blanks=[],
    difficulty=2,
    law_refs=[LawRefDraft("行政处罚法", "2021年修订", 9)],
    topics=["行政处罚的种类"],
)
MULTIPLE = replace(SINGLE, type="multiple", answer=[0, 1])
TRUE_FALSE = QuestionDraft("true_false", "宪法是国家的根本法。", ["正确", "错误"], [0], [])
FILL_BLANK = QuestionDraft(
    "fill_blank",
    "当事人有权在____内申请听证，行政机关应当在____前通知。",
    [],
    [],
    [["五日", "5日"], ["七日"]],
)


@pytest.mark.parametrize("draft", [SINGLE, MULTIPLE, TRUE_FALSE, FILL_BLANK])
def test_valid_drafts_have_no_errors(draft):
    assert validate_draft(draft) == {}


@pytest.mark.parametrize(
    ("draft", "field", "message"),
    [
        (replace(SINGLE, type="oral"), "type", "题型必须是单选、多选、判断、填空、简答或论述"),
        (replace(SINGLE, stem="  \n "), "stem", "题干不能为空"),
        (replace(SINGLE, stem="长" * 2001), "stem", "题干不能超过2000字（现有2001字）"),
        (replace(SINGLE, choices=["警告"], answer=[0]), "choices", "单选题至少需要2个选项"),
        (replace(SINGLE, choices=[str(i) for i in range(9)]), "choices", "选项最多8个（现有9个）"),
        (replace(SINGLE, choices=["警告", "", "罚款"]), "choices", "选项B为空，但其后还有选项"),
        (
            replace(SINGLE, choices=["警告", "罚款", "警告"]),
            "choices",
            "选项A与选项C重复：「警告」",
        ),
        (replace(SINGLE, answer=[0, 1]), "answer", "单选题只能有一个正确答案（现有2个）"),
        (replace(SINGLE, answer=[]), "answer", "未设置正确答案"),
        (replace(SINGLE, answer=[4]), "answer", "答案「E」不是已填写的选项（只有A–D）"),
        (replace(MULTIPLE, answer=[2]), "answer", "多选题至少应有两个正确选项"),
        (replace(TRUE_FALSE, answer=[0, 1]), "answer", "判断题的答案必须是「正确」或「错误」之一"),
        (
            replace(TRUE_FALSE, choices=["对", "错"]),
            "choices",
            "判断题的选项固定为「正确」「错误」",
        ),
        (replace(FILL_BLANK, blanks=[]), "blanks", "填空题至少需要一个空的答案"),
        (replace(FILL_BLANK, blanks=[["五日"], [" "]]), "blanks", "第2空没有填写答案"),
        (replace(FILL_BLANK, blanks=[["五日"]]), "blanks", "题干中有2处空（____），但答案有1个空"),
        (replace(FILL_BLANK, blanks=[["五日"], ["1/2"]]), "blanks", "第2空的答案不能包含 | 或 /"),
        (replace(SINGLE, difficulty=6), "difficulty", "难度应为1–5的整数"),
        (replace(SINGLE, difficulty=0), "difficulty", "难度应为1–5的整数"),
        (replace(SINGLE, topics=["长" * 51]), "topics", "超过50字"),
        (replace(SINGLE, topics=["处罚|听证"]), "topics", "不能包含分隔符"),
        (replace(SINGLE, topics=["处罚\n听证"]), "topics", "不能换行"),
    ],
)
def test_validate_draft_reports_field_and_message(draft, field, message):
    errors = validate_draft(draft)
    assert field in errors
    assert message in errors[field]


def test_trailing_empty_choices_are_not_gaps():
    assert validate_draft(replace(SINGLE, choices=[*SINGLE.choices, "", ""])) == {}


@pytest.mark.parametrize(
    ("stem", "count"),
    [
        ("依法应当在____内作出决定", 1),
        ("两个下划线__不算", 0),
        ("甲（ ）乙( )丙（）丁（　）", 4),
        ("括号里有字（见附件）不算", 0),
        ("___和______", 2),
    ],
)
def test_count_blanks(stem, count):
    assert count_blanks(stem) == count


def test_fingerprint_ignores_width_case_space_punctuation_and_choice_order():
    variant = replace(
        SINGLE,
        stem=" 行政处罚的种类不包括下列哪一项? ",
        choices=["记过", "罚款。", "行政 拘留", "警告"],
        answer=[0],
        explanation="不同的解析",
    )
    assert fingerprint(variant) == fingerprint(SINGLE)
    assert fingerprint(replace(SINGLE, type="multiple")) != fingerprint(SINGLE)
    assert fingerprint(replace(SINGLE, stem="行政处罚的种类包括下列哪一项？")) != fingerprint(
        SINGLE
    )
    assert fingerprint(replace(SINGLE, choices=["警告", "罚款", "拘留", "记过"])) != fingerprint(
        SINGLE
    )


def test_clean_draft_trims_and_orders():
    messy = QuestionDraft(
        "single",
        "  题干 ",
        [" 甲 ", "乙", "", " "],
        [1, 1],
        [],
        explanation=" 解析 ",
        topics=[" 总则", "总则", ""],
    )
    clean = clean_draft(messy)
    assert clean.stem == "题干"
    assert clean.choices == ["甲", "乙"]
    assert clean.answer == [1]
    assert clean.explanation == "解析"
    assert clean.topics == ["总则"]
    assert clean_draft(replace(messy, stem="甲\xa0乙\r\n丙\r丁")).stem == "甲 乙\n丙\n丁"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("36", 36),
        ("３６", 36),
        ("一", 1),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("三十六", 36),
        ("一百", 100),
        ("一百零五", 105),
        ("一百一十", 110),
        ("二百六十", 260),
        ("一千二百六十", 1260),
        ("一千零一", 1001),
        ("两百", 200),
        ("三六", None),
        ("三条", None),
    ],
)
def test_chinese_number(text, number):
    assert chinese_number(text) == number


PENALTY = "行政处罚法"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("行政处罚法第36条", [(PENALTY, None, 36)]),
        (
            "行政处罚法（2021年修订）第36条、第37条；宪法（2018年修正）第5条",
            [(PENALTY, "2021年修订", 36), (PENALTY, "2021年修订", 37), ("宪法", "2018年修正", 5)],
        ),
        (
            "行政处罚法(2021年修订)第36条,第37条",
            [(PENALTY, "2021年修订", 36), (PENALTY, "2021年修订", 37)],
        ),
        ("《中华人民共和国行政处罚法》第三十六条", [(PENALTY, None, 36)]),
        ("《中华人民共和国民法典》第一千二百六十条", [("民法典", None, 1260)]),
        ("《行政处罚法（2021年修订）》第一百零五条", [(PENALTY, "2021年修订", 105)]),
        ("行政处罚法第36条第2款", [(PENALTY, None, 36, 0, 2)]),
        (
            "行政处罚法第36条第1款、第2款，第37条",
            [(PENALTY, None, 36, 0, 1), (PENALTY, None, 36, 0, 2), (PENALTY, None, 37)],
        ),
        (
            "行政处罚法第9条第（一）项、第（二）项",
            [(PENALTY, None, 9, 0, None, 1), (PENALTY, None, 9, 0, None, 2)],
        ),
        ("行政处罚法第9条第（六）项", [(PENALTY, None, 9, 0, None, 6)]),
        ("行政处罚法第9条第6项", [(PENALTY, None, 9, 0, None, 6)]),
        ("宪法第64条第1款第（二）项", [("宪法", None, 64, 0, 1, 2)]),
        (
            "宪法第64条第一款、第二款第（三）项",
            [("宪法", None, 64, 0, 1), ("宪法", None, 64, 0, 2, 3)],
        ),
        ("刑法第10条之一第2款", [("刑法", None, 10, 1, 2)]),
        ("行政处罚法第36条，宪法第5条", [(PENALTY, None, 36), ("宪法", None, 5)]),
        ("行政处罚法第36条;宪法第5条", [(PENALTY, None, 36), ("宪法", None, 5)]),
        ("行政处罚法第36条，第37条", [(PENALTY, None, 36), (PENALTY, None, 37)]),
        ("\xa0行政处罚法 第 36 条 ", [(PENALTY, None, 36)]),
        ("行政处罚法第36条至第38条", [(PENALTY, None, n) for n in (36, 37, 38)]),
        ("行政处罚法第36条、第36条", [(PENALTY, None, 36)]),
        (
            "行政强制法（2011年）第9条、第10条、第12条",
            [("行政强制法", "2011年", n) for n in (9, 10, 12)],
        ),
    ],
)
def test_parse_law_refs(text, expected):
    refs, error = parse_law_refs(text)
    if expected is None:
        assert refs == []
        assert error
    else:
        assert error is None
        assert refs == [LawRefDraft(*item) for item in expected]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("行政处罚法", "法律依据缺少条款号：「行政处罚法」"),
        ("《宪法》", "法律依据缺少条款号"),
        ("第36条", "缺少法律名称"),
        ("行政处罚法第零条", "条号「零」无法识别"),
        ("行政处罚法第36条附则", "无法识别"),
        ("行政处罚法第36条；宪法", "法律依据缺少条款号：「宪法」"),
    ],
)
def test_parse_law_refs_errors(text, message):
    refs, error = parse_law_refs(text)
    assert refs == []
    assert message in error


@pytest.mark.parametrize(
    "refs",
    [
        [],
        [LawRefDraft("行政处罚法", "2021年修订", 36)],
        [
            LawRefDraft("行政处罚法", "2021年修订", 36),
            LawRefDraft("行政处罚法", "2021年修订", 37),
            LawRefDraft("宪法", "2018年修正", 5),
            LawRefDraft("民法典", None, 1260),
            LawRefDraft("行政处罚法", None, 2),
        ],
        [
            LawRefDraft("宪法", "2018年修正", 64, 0, 1, 2),
            LawRefDraft("宪法", "2018年修正", 64, 0, 2),
            LawRefDraft("刑法", None, 10, 1),
            LawRefDraft("刑法", None, 10, 2, None, 12),
        ],
    ],
)
def test_format_law_refs_round_trips(refs):
    text = format_law_refs(refs)
    assert parse_law_refs(text) == (refs, None)


def test_format_law_refs_canonical_form():
    refs, _ = parse_law_refs("《行政处罚法(2021年修订)》第三十六条,第37条;宪法（2018年修正）第五条")
    assert (
        format_law_refs(refs) == "行政处罚法（2021年修订）第36条、第37条；宪法（2018年修正）第5条"
    )


@pytest.mark.parametrize(
    ("text", "indices"),
    [
        ("B", [1]),
        ("ABD", [0, 1, 3]),
        ("A,B,D", [0, 1, 3]),
        ("A，B，D", [0, 1, 3]),
        ("A、B、D", [0, 1, 3]),
        ("A|B|D", [0, 1, 3]),
        ("A B D", [0, 1, 3]),
        ("选项ABD", [0, 1, 3]),
        ("abd", [0, 1, 3]),
        ("ＡＢＤ", [0, 1, 3]),
        ("DBA", [0, 1, 3]),
        ("A;C", [0, 2]),
        ("正确", None),
        ("A1", None),
        ("", None),
    ],
)
def test_parse_answer_letters(text, indices):
    assert parse_answer_letters(text) == indices


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[(t, True) for t in ("正确", "对", "√", "✓", "T", "true", "是", " 正确 ")],
        *[(t, False) for t in ("错误", "错", "×", "✗", "F", "FALSE", "否")],
        ("A", None),
        ("不知道", None),
    ],
)
def test_true_false_value(text, value):
    assert true_false_value(text) is value


def test_html_to_text():
    markup = '<p dir="ltr">第一段&nbsp;&amp; <b>加粗</b></p><p>第二段<br>换行</p><script>alert(1)</script>'
    assert html_to_text(markup) == "第一段 & 加粗\n第二段\n换行"
    assert html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;") == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("法律".encode(), "法律"),
        (b"\xef\xbb\xbf" + "法律".encode(), "法律"),
        ("法律".encode("gb18030"), "法律"),
        ("法律".encode("utf-16"), "法律"),
        (b"\xff\xff\xff", None),
    ],
)
def test_decode_text(data, text):
    assert decode_text(data) == text
