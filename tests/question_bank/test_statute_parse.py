"""Reading statute texts: each layout, Chinese numerals, and every kind of bad input."""

from datetime import date

import pytest

from question_bank.drafts import chinese_number, chinese_numeral
from question_bank.statutes.parse import AMENDMENTS, parse_events, parse_statute
from tests.statute_texts import CHARTER, MARKDOWN, OFFICIAL, docx_bytes


def _structure(parsed):
    return [(part.kind, part.heading, part.parent) for part in parsed.parts]


def _articles(parsed):
    return [(a.number, a.suffix, a.heading) for a in parsed.main_articles]


EXPECTED_ARTICLES = [
    (1, 0, "第一条"),
    (2, 0, "第二条"),
    (3, 0, "第三条"),
    (3, 1, "第三条之一"),
    (4, 0, "第四条"),
    (5, 0, "第五条"),
]
EXPECTED_PARTS = [
    ("编", "第一编　总则", None),
    ("章", "第一章　一般规定", 0),
    ("编", "第二编　分则", None),
    ("分编", "第一分编　登记", 2),
    ("章", "第二章　登记程序", 3),
    ("节", "第一节　申请", 4),
    ("节", "第二节　受理", 4),
    ("编", "附则", None),
]


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (OFFICIAL.encode(), "示范管理法.txt"),
        (OFFICIAL.encode("gb18030"), "示范管理法.txt"),
        (OFFICIAL.replace("\n", "\r\n").encode("utf-8-sig"), "示范管理法.txt"),
        (MARKDOWN.encode(), "示范管理法.md"),
        (docx_bytes(OFFICIAL.splitlines()), "示范管理法.docx"),
    ],
    ids=["txt-utf8", "txt-gb18030", "txt-bom-crlf", "markdown", "docx"],
)
def test_each_layout_reads_to_the_same_statute(data, filename):
    parsed = parse_statute(data, filename)
    assert parsed.problems == []
    assert parsed.title == "中华人民共和国示范管理法"
    assert _articles(parsed) == EXPECTED_ARTICLES
    assert _structure(parsed) == EXPECTED_PARTS
    second = parsed.main_articles[1]
    assert [p.text for p in second.paragraphs] == [
        "示范管理应当遵循下列原则：",
        "示范管理机关应当依法履行职责。",
    ]
    assert second.paragraphs[0].items == ["（一）公开；", "（二）公正；", "（三）便民。"]
    assert [p.text for p in parsed.main_articles[4].paragraphs] == [
        "机关收到申请后，应当在五日内决定是否受理。",
        "不予受理的，应当书面说明理由。",
    ]
    # Each article sits in its innermost part; 之一 in the 节 of its article.
    sections = [parsed.parts[a.part].heading for a in parsed.main_articles]
    assert sections == [
        "第一章　一般规定",
        "第一章　一般规定",
        "第一节　申请",
        "第一节　申请",
        "第二节　受理",
        "附则",
    ]


def test_the_caption_gives_the_dates_and_the_version_label():
    parsed = parse_statute(OFFICIAL.encode(), "a.txt")
    assert [(e.on, e.kind) for e in parsed.events] == [
        (date(2001, 3, 1), "通过"),
        (date(2010, 5, 6), "修正"),
    ]
    assert parsed.version_label == "2010年修正"
    # A decision's title (《关于修订…》) in the caption does not count as the act.
    assert "修订〈" in parsed.caption[0]


@pytest.mark.parametrize(
    ("caption", "label", "effective"),
    [
        ("2011年6月30日第十一届全国人民代表大会常务委员会第二十一次会议通过", "2011年", None),
        (
            "1996年3月17日通过　根据2009年8月27日《关于修改部分法律的决定》第一次修正"
            "　2021年1月22日第十三届全国人民代表大会常务委员会第二十五次会议修订",
            "2021年修订",
            None,
        ),
        (
            "2020年5月28日第十三届全国人民代表大会第三次会议通过　自2021年1月1日起施行",
            "2020年",
            date(2021, 1, 1),
        ),
        ("二〇一九年四月二十三日修正", "2019年修正", None),
    ],
)
def test_version_labels_from_captions(caption, label, effective):
    from question_bank.statutes.parse import ParsedStatute

    parsed = ParsedStatute(events=parse_events(caption))
    assert parsed.version_label == label
    assert parsed.effective_on == effective


def test_a_constitution_with_preamble_and_amendment_articles():
    parsed = parse_statute(CHARTER.encode(), "章程.md")
    assert parsed.problems == []
    assert parsed.preamble == ["本章程是示范组织的根本章程。"]
    assert _articles(parsed) == [(1, 0, "第一条"), (2, 0, "第二条"), (3, 0, "第三条")]
    amendments = parsed.amendment_articles
    assert [(a.series, a.number) for a in amendments] == [(AMENDMENTS, 1), (AMENDMENTS, 2)]
    # The article an amendment quotes is its text, not an article of the charter.
    assert [p.text for p in amendments[1].paragraphs] == [
        "章程第二章增加一节：",
        "第二节 理事会",
        "第三条之一 理事会执行大会的决议。",
    ]
    groups = [p for p in parsed.parts if p.kind == AMENDMENTS]
    assert [(g.heading, g.note) for g in groups] == [
        ("示范组织章程修正案（2010年）", "2010年3月1日全体大会通过"),
        ("示范组织章程修正案（2020年）", "2020年3月1日全体大会通过"),
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("一", 1),
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("一百零一", 101),
        ("一百一十", 110),
        ("一千零二", 1002),
        ("一千二百六十", 1260),
        ("３６", 36),
    ],
)
def test_chinese_numerals_both_ways(text, number):
    assert chinese_number(text.translate(str.maketrans("３６", "36"))) == number
    if not text.isascii() and not text.startswith("３"):
        assert chinese_numeral(number) == text


def _problems(text: str, filename: str = "a.txt") -> list[str]:
    parsed = parse_statute(text.encode(), filename)
    return [f"{p.line}:{p.message}" for p in parsed.problems]


def test_a_file_that_is_not_a_statute_is_refused():
    problems = _problems("题型,题干,选项A\n单选,某题,甲\n")
    assert any("没有找到任何条文" in p for p in problems)


def test_two_articles_with_the_same_number_are_named_with_their_lines():
    text = "第一条　甲。\n第二条　乙。\n第二条　丙。\n第三条　丁。\n"
    assert _problems(text) == ["3:第二条重复（第 2 行已有该条）"]


def test_a_gap_in_the_numbering_is_named():
    text = "第一条　甲。\n第二条　乙。\n第四条　丁。\n"
    assert _problems(text) == ["3:条文编号不连续：第二条之后是第四条"]


def test_lines_outside_any_article_are_named():
    text = "某某法\n\n第一章　总则\n这里有一段不属于任何条文的话。\n第一条　甲。\n"
    assert _problems(text) == ["4:这一行不属于任何条文（不是标题、题注或条文）"]


def test_undecodable_and_old_word_files_are_refused():
    assert "无法识别文件编码" in _problems_bytes(b"\xff\xfe\x00\x00garbage\x81", "a.txt")
    assert "旧版 .doc" in _problems_bytes(b"\xd0\xcf\x11\xe0rest", "a.doc")
    assert "不是有效的 .docx" in _problems_bytes(b"PK\x03\x04broken", "a.docx")


def _problems_bytes(data: bytes, filename: str) -> str:
    return " ".join(p.message for p in parse_statute(data, filename).problems)


def test_word_files_with_tables_or_tracked_changes_are_refused_naming_where():
    lines = ["某某法", "第一条　甲。", "第二条　乙。"]
    assert parse_statute(docx_bytes(lines), "a.docx").problems == []
    table = parse_statute(docx_bytes(lines, table=True), "a.docx")
    assert [(p.line, "表格" in p.message) for p in table.problems] == [(3, True)]
    tracked = parse_statute(docx_bytes(lines, tracked=True), "a.docx")
    assert [(p.line, "1 处修订标记" in p.message) for p in tracked.problems] == [(3, True)]
    assert tracked.unit == "段"


def test_a_statute_in_word_goes_through_the_one_safe_opener():
    """core.documents.open_docx: a DTD (entity expansion, external entities) is refused."""
    import io
    import zipfile

    from core.documents import HAS_DTD

    data = docx_bytes(["某某法", "第一条　甲。"])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "word/document.xml":
                content = content.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "e">]>', 1)
            target.writestr(item, content)
    assert HAS_DTD in _problems_bytes(buffer.getvalue(), "a.docx")
