"""Lesson Markdown to safe HTML: markdown-it-py with raw HTML off (an HTML tag in a lesson
shows as text), then nh3 (ammonia) keeps only the tags Markdown itself makes, with no
attributes but a link's address and a table cell's alignment, and no scheme but http(s)."""

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_PARSER.enable("table").enable("strikethrough")

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
# No h1: the page's own title is the only one. No img: lessons carry no images.
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}


def render(markdown: str) -> Markup:
    """Sanitised HTML of a lesson's Markdown (headings of level 1 become level 2)."""
    html = _PARSER.render(markdown).replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)
