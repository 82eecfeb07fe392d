"""Markdown from the logs (descriptions, notes.md, .md artifacts) to sanitised HTML.

The result is marked safe for Jinja only because nh3 has cleaned it: no script, no event handler,
no `javascript:` link, and no image that would make the page load something from another host.
"""

from __future__ import annotations

import re

import markdown
import nh3
from markupsafe import Markup

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},  # fenced code keeps its `language-xxx` class
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
}
_CODE_CLASS = re.compile(r"^(language-[A-Za-z0-9_+#.-]{1,40}\s*)+$")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        # Only images that ship with the site: a remote URL would be a request to another host.
        lowered = value.strip().lower()
        if lowered.startswith("//") or re.match(r"^[a-z][a-z0-9+.-]*:", lowered):
            return None
    if tag == "code" and attribute == "class" and not _CODE_CLASS.match(value):
        return None
    return value


_HEADING = re.compile(r"<(/?)h([1-6])>")


def render_markdown(text: str | None, shift_headings: int = 0) -> Markup:
    """Markdown source to clean HTML; empty Markup for None or blank text.

    `shift_headings` pushes headings down (a `#` in a note sits under the page's own h1 and h2).
    """
    if text is None or not str(text).strip():
        return Markup("")
    html = markdown.markdown(str(text), extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    cleaned = nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, attribute_filter=_keep_attribute,
                        url_schemes={"http", "https", "mailto"}, clean_content_tags={"script", "style"},
                        link_rel="noopener noreferrer nofollow")
    if shift_headings:
        cleaned = _HEADING.sub(lambda m: f"<{m[1]}h{min(6, int(m[2]) + shift_headings)}>", cleaned)
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above
