"""Reading a statute text: .docx, .txt (UTF-8 or GB18030) or Markdown into title, 题注,
序言, parts (编 / 分编 / 章 / 节) and articles (条, 条之一) with their paragraphs (款) and
items (项). Nothing here touches Flask or the database.

The texts this reads are what the national database of laws and regulations hands out and
what people copy from it: one line (or Word paragraph) per 款, an article starting
`第一条　`, items `（一）`, parts `第一章　总　　则` (typeset with spaces), a 目录 that repeats
the part headings, the 题注 in brackets under the title. Markdown copies add `#` and `**`.
The 宪法's amendment articles (修正案, numbered 第一条 onwards again) are their own series.

`parse_statute` never raises on bad input: whatever it cannot place is a Problem with its
line, and the import refuses a text with any Problem (all or nothing).
"""

import re
from dataclasses import dataclass, field
from datetime import date

from core.documents import DocumentError, open_docx
from core.spreadsheets import decode_text
from question_bank.drafts import chinese_number

MAX_LINES = 50_000

MAIN = ""  #: the series of the statute's own articles
AMENDMENTS = "修正案"  #: the series of the 宪法's amendment articles

KINDS = ("编", "分编", "章", "节")
DEPTH = {kind: depth for depth, kind in enumerate(KINDS)} | {AMENDMENTS: 0}

_NUM = r"[0-9０-９零〇一二两三四五六七八九十百千]+"
_SPACE = re.compile(r"[\s\u3000\xa0]+")
_HEADING = re.compile(rf"^第({_NUM})(分编|编|章|节)(?: (.*))?$")
_ARTICLE = re.compile(rf"^第({_NUM})条(?:之({_NUM}))?(?: (.*))?$")
_ITEM = re.compile(rf"^[（(]({_NUM})[）)]")
_SUB_ITEM = re.compile(r"^[0-9０-９]+[.．、]")
_SENTENCE = re.compile(r"[，。；：“”]")
_LAW_TITLE = re.compile(r"(法|条例|规定|办法|法典|决定|规则|细则|宪法)$")
#: parts some statutes head without a number (民法典's 附则 after the seven books)
UNNUMBERED_PARTS = {"总则", "分则", "附则"}
_AMENDMENT_GROUP = re.compile(r"^.{0,30}修正案(?:[（(][^（）()]{1,10}[）)])?$")
_DATE = re.compile(r"([0-9〇零一二三四五六七八九]{4})年(" + _NUM + r")月(" + _NUM + r")日")
_EVENT = re.compile(r"通过|修正|修订|公布|施行")
_BOOK_TITLE = re.compile(r"《[^》]*》")


@dataclass
class Problem:
    line: int  # line (text) or paragraph (Word) number; 0 for the whole file
    message: str
    text: str = ""


@dataclass
class Paragraph:
    """One 款: its text and its items (项), each item's text with its （一） kept."""

    text: str
    items: list[str] = field(default_factory=list)


@dataclass
class Part:
    kind: str  # 编, 分编, 章, 节 or 修正案 (one amendment of the 宪法)
    number: int | None
    title: str
    heading: str  # as shown: 第一编　总则
    parent: int | None  # index of the enclosing part
    line: int
    note: str = ""


@dataclass
class Article:
    series: str
    number: int
    suffix: int  # 之一 -> 1; 0 for a plain article
    heading: str  # 第十条之一, as the statute writes it
    paragraphs: list[Paragraph]
    part: int | None  # index of the innermost part
    line: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.series, self.number, self.suffix)

    @property
    def text(self) -> str:
        return article_text(self.paragraphs)


@dataclass
class Event:
    on: date | None
    year: int
    kind: str  # 通过, 修正, 修订, 公布, 施行


@dataclass
class ParsedStatute:
    title: str = ""
    caption: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: "行" for text files, "段" for Word paragraphs
    unit: str = "行"

    @property
    def main_articles(self) -> list[Article]:
        return [a for a in self.articles if a.series == MAIN]

    @property
    def amendment_articles(self) -> list[Article]:
        return [a for a in self.articles if a.series == AMENDMENTS]

    @property
    def version_label(self) -> str | None:
        """How citations name this version, from the 题注: 2021年修订, 2019年修正, 2011年."""
        for event in reversed(self.events):
            if event.kind in ("修订", "修正"):
                return f"{event.year}年{event.kind}"
        adopted = next((e for e in self.events if e.kind == "通过"), None)
        return f"{adopted.year}年" if adopted else None

    @property
    def effective_on(self) -> date | None:
        return next((e.on for e in reversed(self.events) if e.kind == "施行"), None)


def article_text(paragraphs: list[Paragraph]) -> str:
    """The article as plain text, one line per 款 and per 项."""
    return "\n".join(line for p in paragraphs for line in [p.text, *p.items] if line)


_DIGITS = "零一二三四五六七八九"


def _number(text: str) -> int | None:
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    return chinese_number(text)


def _year(text: str) -> int | None:
    if text.isdecimal():
        return int(text)
    digits = "".join(str(_DIGITS.index(ch)) if ch in _DIGITS else "0" for ch in text)
    return int(digits)


# ---------------------------------------------------------------- reading files


def read_lines(data: bytes, filename: str) -> tuple[list[str], str, list[Problem]]:
    """The file's lines (Word: paragraphs), the unit they are counted in, and problems
    that stop the file from being read at all (or, for Word, what it must not contain)."""
    name = filename.lower()
    if name.endswith(".docx") or data.startswith(b"PK\x03\x04"):
        return _docx_lines(data)
    if name.endswith(".doc") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return [], "段", [Problem(0, "不支持旧版 .doc 文件，请在 Word 中另存为 .docx 后再导入")]
    text = decode_text(data)
    if text is None or "\x00" in text:
        return [], "行", [Problem(0, "无法识别文件编码（支持 UTF-8 与 GB18030/GBK 的文本文件）")]
    lines = text.removeprefix("\ufeff").splitlines()
    if len(lines) > MAX_LINES:
        return [], "行", [Problem(0, f"文件超过 {MAX_LINES} 行，不像是一部法律的文本")]
    return lines, "行", []


def _docx_lines(data: bytes) -> tuple[list[str], str, list[Problem]]:
    from docx.oxml.ns import qn

    try:
        document = open_docx(data)  # size, ratio and DTD checks first
    except DocumentError as error:
        return [], "段", [Problem(0, error.message)]
    body = document.element.body
    problems = []
    # Where each problem sits: the body's paragraphs are numbered as read below.
    paragraph_tag, table_tag = qn("w:p"), qn("w:tbl")
    numbers, count = {}, 0
    for child in body.iterchildren():
        if child.tag == paragraph_tag:
            count += 1
            numbers[child] = count
        elif child.tag == table_tag:
            problems.append(
                Problem(
                    count,
                    "此段之后有一个表格：法律文本不应有表格，无法确定表格内容属于哪一条。"
                    "请删除表格或使用官方原文",
                )
            )
    revised: dict[int, int] = {}
    for mark in body.xpath(".//w:ins | .//w:del | .//w:moveFrom | .//w:moveTo"):
        top = mark
        while top.getparent() is not None and top.getparent() is not body:
            top = top.getparent()
        where = numbers.get(top, 0)
        revised[where] = revised.get(where, 0) + 1
    for where, marks in sorted(revised.items()):
        problems.append(
            Problem(
                where,
                f"有 {marks} 处修订标记（修订模式下的增删）。"
                "请在 Word 中「接受所有修订」或使用官方原文后再导入",
            )
        )
    lines = []
    for paragraph in document.paragraphs:
        lines.append(paragraph.text.replace("\n", " ").replace("\v", " "))
        if len(lines) > MAX_LINES:
            return [], "段", [Problem(0, f"文件超过 {MAX_LINES} 段，不像是一部法律的文本")]
    return lines, "段", problems


# ---------------------------------------------------------------- parsing


def _clean(line: str) -> tuple[str, bool]:
    """The line without Markdown marks and with spaces collapsed; and whether it was
    set in italics or brackets as a whole (a 题注 or an amendment's date line)."""
    text = _SPACE.sub(" ", line).strip()
    text = re.sub(r"^(#{1,6}|>)\s*", "", text)
    text = text.replace("**", "").replace("__", "").strip()
    aside = False
    if len(text) > 2 and text[0] == "*" and text[-1] == "*":
        text, aside = text[1:-1].strip(), True
    if len(text) > 2 and text[0] in "（(" and text[-1] in "）)" and _DATE.search(text):
        text, aside = text[1:-1].strip(), True
    return text, aside


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def parse_events(caption: str) -> list[Event]:
    """Dated events of a 题注, in order: each date with the act that follows it."""
    matches = list(_DATE.finditer(caption))
    events = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(caption)
        tail = _BOOK_TITLE.sub("", caption[match.end() : end])
        kinds = _EVENT.findall(tail)
        year, month, day = _year(match[1]), _number(match[2]), _number(match[3])
        if not kinds or not year:
            continue
        try:
            on = date(year, month or 0, day or 0)
        except ValueError:
            on = None
        # 公布施行 / 通过…施行: the first act names what the date is.
        events.append(Event(on, year, kinds[0]))
        if kinds[0] != "施行" and "施行" in kinds[1:]:
            events.append(Event(on, year, "施行"))
    return events


class _Reader:
    def __init__(self, unit: str) -> None:
        self.result = ParsedStatute(unit=unit)
        self.stage = "start"  # start, caption, toc, preamble, body
        self.toc_first: str | None = None
        self.series = MAIN
        self.quote = False  # inside a Markdown ::: block: quoted text, no structure
        self.open_parts: dict[str, int] = {}  # kind -> index of the open part of that kind
        self.article: Article | None = None

    # --- structure
    def _innermost(self) -> int | None:
        if self.series == AMENDMENTS:
            return self.open_parts.get(AMENDMENTS)
        for kind in reversed(KINDS):
            if kind in self.open_parts:
                return self.open_parts[kind]
        return None

    def open_part(self, kind: str, number: int | None, title: str, heading: str, line: int):
        depth = DEPTH[kind]
        for other in list(self.open_parts):
            if DEPTH[other] >= depth:
                del self.open_parts[other]
        parent = None
        for other in reversed(KINDS[:depth] if kind in KINDS else ()):
            if other in self.open_parts:
                parent = self.open_parts[other]
                break
        self.result.parts.append(Part(kind, number, title, heading, parent, line))
        self.open_parts[kind] = len(self.result.parts) - 1
        self.article = None

    def problem(self, line: int, message: str, text: str = "") -> None:
        self.result.problems.append(Problem(line, message, text[:80]))

    # --- one line
    def feed(self, number: int, raw: str) -> None:
        if raw.strip().startswith(":::"):
            opening = raw.strip()[3:].strip()
            self.quote = bool(opening) and not self.quote
            if self.quote and self.article is not None:
                title = _SPACE.sub(" ", opening.removeprefix("tip")).strip()
                if title:
                    self.article.paragraphs.append(Paragraph(title))
            return
        text, aside = _clean(raw)
        if not text:
            return
        squashed = _squash(text)
        if self.stage == "toc":
            self._toc_line(squashed, text)
            if self.stage == "toc":
                return
        if self.quote:
            self._body_text(number, text)
            return
        if squashed == "目录":
            self.stage = "toc"
            return
        if squashed == "序言":
            self.stage = "preamble"
            return
        if squashed == AMENDMENTS or squashed == "附：宪法修正案":
            self.series = AMENDMENTS
            self.open_parts.clear()
            self.article = None
            self.stage = "body"
            return
        if _AMENDMENT_GROUP.match(squashed):
            self.series = AMENDMENTS
            self.stage = "body"
            self.open_part(AMENDMENTS, None, squashed, squashed, number)
            return
        if squashed in UNNUMBERED_PARTS and self.series == MAIN:
            self.stage = "body"
            self.open_part("编", None, squashed, squashed, number)
            return
        heading = _HEADING.match(text)
        if heading and not _SENTENCE.search(heading[3] or "") and self.series == MAIN:
            self.stage = "body"
            title = _squash(heading[3] or "")
            label = f"第{heading[1]}{heading[2]}" + (f"　{title}" if title else "")
            self.open_part(heading[2], _number(heading[1]), title, label, number)
            return
        article = _ARTICLE.match(text)
        if article:
            self._start_article(number, article)
            return
        if self.stage == "start" and _LAW_TITLE.search(squashed) and len(squashed) <= 60:
            self.result.title = squashed
            self.stage = "caption"
            return
        if self.stage in ("start", "caption") and (aside or _DATE.search(text)):
            self.result.caption.append(text)
            self.stage = "caption"
            return
        if self.stage == "preamble":
            self.result.preamble.append(text)
            return
        if aside and self.series == AMENDMENTS and self.article is None:
            part = self._innermost()
            if part is not None:
                self.result.parts[part].note = text
                return
        self._body_text(number, text)

    def _toc_line(self, squashed: str, text: str) -> None:
        if _ARTICLE.match(text):
            self.stage = "body"
        elif self.toc_first is None:
            self.toc_first = squashed
        elif squashed == self.toc_first:
            self.stage = "body"

    def _start_article(self, line: int, match: re.Match) -> None:
        number = _number(match[1])
        suffix = _number(match[2]) if match[2] else 0
        if not number or suffix is None:
            self.problem(line, f"条号「{match[1]}」无法识别", match[0])
            return
        self.stage = "body"
        heading = f"第{match[1]}条" + (f"之{match[2]}" if match[2] else "")
        first = (match[3] or "").strip()
        self.article = Article(
            self.series,
            number,
            suffix,
            heading,
            [Paragraph(first)] if first else [],
            self._innermost(),
            line,
        )
        self.result.articles.append(self.article)

    def _body_text(self, line: int, text: str) -> None:
        if self.article is None:
            self.problem(line, "这一行不属于任何条文（不是标题、题注或条文）", text)
            return
        paragraphs = self.article.paragraphs
        if _ITEM.match(text) and not self.quote:
            if not paragraphs:
                paragraphs.append(Paragraph(""))
            paragraphs[-1].items.append(text)
        elif _SUB_ITEM.match(text) and paragraphs and paragraphs[-1].items and not self.quote:
            paragraphs[-1].items[-1] += "\n" + text
        else:
            paragraphs.append(Paragraph(text))


def parse_lines(lines: list[str], unit: str = "行") -> ParsedStatute:
    reader = _Reader(unit)
    for number, line in enumerate(lines, start=1):
        reader.feed(number, line)
    result = reader.result
    result.events = parse_events("　".join(result.caption))
    result.problems.extend(check_numbering(result.articles, unit))
    if not result.main_articles:
        result.problems.insert(
            0, Problem(0, "没有找到任何条文（应以「第一条　」开头），这不像是一部法律的文本")
        )
    for article in result.articles:
        if not article.paragraphs:
            result.problems.append(
                Problem(article.line, f"{article.heading}没有内容", article.heading)
            )
    return result


def check_numbering(articles: list[Article], unit: str = "行") -> list[Problem]:
    """Each series must run 第一条, 第二条, ... with 之一, 之二 right after their article:
    a repeated number or a gap means a damaged or wrongly cut text."""
    problems = []
    seen: dict[tuple, int] = {}
    previous: dict[str, Article] = {}
    for article in articles:
        where = "修正案" if article.series == AMENDMENTS else ""
        if article.key in seen:
            problems.append(
                Problem(
                    article.line,
                    f"{where}{article.heading}重复（第 {seen[article.key]} {unit}已有该条）",
                    article.heading,
                )
            )
            continue
        seen[article.key] = article.line
        before = previous.get(article.series)
        number, suffix = (before.number, before.suffix) if before else (0, 0)
        if (article.number, article.suffix) not in ((number + 1, 0), (number, suffix + 1)):
            after = f"{before.heading}之后是" if before else "第一条之前有"
            problems.append(
                Problem(
                    article.line,
                    f"{where}条文编号不连续：{after}{article.heading}",
                    article.heading,
                )
            )
        previous[article.series] = article
    return problems


def parse_statute(data: bytes, filename: str) -> ParsedStatute:
    lines, unit, problems = read_lines(data, filename)
    if problems and not lines:
        return ParsedStatute(problems=problems, unit=unit)
    result = parse_lines(lines, unit)
    result.problems[:0] = problems
    return result
