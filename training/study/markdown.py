"""Lesson Markdown to safe HTML: markdown-it-py with raw HTML off (an HTML tag in a lesson
shows as text), then nh3 (ammonia) keeps only the tags Markdown itself makes, with no
attributes but a link's address, and no scheme but http(s) (and addresses on this site).

A caller may pass `link_text`, which turns a piece of plain text (outside links and code)
into escaped HTML, e.g. with each mention of a law's article made a link to its page; what
it returns is sanitised with the rest."""

from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_PARSER.enable("table").enable("strikethrough")

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
# No h1: the page's own title is the only one. No img: lessons carry no images.
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}


def _link_texts(tokens: list[Token], link_text: Callable[[str], str]) -> None:
    """Replace the plain text of inline tokens, outside links, by link_text's HTML."""
    for block in tokens:
        inside_link = 0
        for child in block.children or []:
            if child.type == "link_open":
                inside_link += 1
            elif child.type == "link_close":
                inside_link -= 1
            elif child.type == "text" and not inside_link:
                child.type, child.content = "html_inline", str(link_text(child.content))


def render(markdown: str, link_text: Callable[[str], str] | None = None) -> Markup:
    """Sanitised HTML of a lesson's Markdown (headings of level 1 become level 2)."""
    tokens = _PARSER.parse(markdown)
    if link_text is not None:
        _link_texts(tokens, link_text)
    html = _PARSER.renderer.render(tokens, _PARSER.options, {})
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)
