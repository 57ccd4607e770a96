"""Links from what a question says to the statute text: each law reference of a question,
and every `《行政处罚法》第三十六条第一款` its stem or explanation mentions, point to the
article page of the version cited (laws.cite resolves them)."""

import re

from flask import g, url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from core.extensions import db
from question_bank.drafts import LawRefDraft, chinese_number
from question_bank.models import Law

_NUM = r"[0-9０-９零〇一二两三四五六七八九十百千]+"
_PLACE = (
    rf"第(?P<article>{_NUM})条(?:之(?P<suffix>[一二三四五六七八九十]+))?"
    rf"(?:第(?P<paragraph>{_NUM})款)?(?:第[（(]?(?P<item>{_NUM})[）)]?项)?"
)


def cite_url(ref: LawRefDraft) -> str:
    return url_for(
        "laws.cite",
        law=ref.law,
        version=ref.version,
        article=ref.article,
        suffix=ref.suffix or None,
        paragraph=ref.paragraph,
        item=ref.item,
    )


def _mentions() -> re.Pattern | None:
    """A pattern for `《(中华人民共和国)?NAME》(（version）)?第…条…` over the laws in the
    library, built once per request."""
    if "law_mentions" not in g:
        names = db.session.scalars(select(Law.name)).all()
        g.law_mentions = (
            re.compile(
                r"《?(?:中华人民共和国)?(?P<law>"
                + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
                + r")》?(?:[（(](?P<version>[^（）()]{0,15}年[^（）()]{0,5})[）)])?"
                + _PLACE
            )
            if names
            else None
        )
    return g.law_mentions


def link_mentions(text: str, refs: list[LawRefDraft] = ()) -> Markup:
    """`text` escaped, with each mention of a law's article made a link. A mention naming
    no version links to the version the question cites for that law, else the current."""
    pattern = _mentions()
    if not text or pattern is None:
        return escape(text)
    cited = {ref.law: ref.version for ref in refs}
    out, position = [], 0
    for match in pattern.finditer(text):
        numbers = [
            chinese_number(match[name]) if match[name] else None
            for name in ("article", "suffix", "paragraph", "item")
        ]
        if not numbers[0] or 0 in numbers:
            continue
        ref = LawRefDraft(
            match["law"],
            match["version"] or cited.get(match["law"]),
            numbers[0],
            numbers[1] or 0,
            numbers[2],
            numbers[3],
        )
        out.append(escape(text[position : match.start()]))
        out.append(Markup('<a href="{}">{}</a>').format(cite_url(ref), match[0]))
        position = match.end()
    out.append(escape(text[position:]))
    return Markup("").join(out)
