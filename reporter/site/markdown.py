"""Markdown from the logs (descriptions, notes.md, .md artifacts) to sanitised HTML.

The result is marked safe for Jinja only because nh3 has cleaned it: no script, no event handler,
no `javascript:` link, and no image that would make the page load something from off the site.

Rendering stays linear in the size of the input, whatever it holds: cmark-gfm (C, CommonMark with
GitHub's tables and strikethrough) parses in linear time, and the HTML it passes on is capped in
nesting depth before nh3 sees it, because an HTML5 tree builder costs the square of the depth.
"""

from __future__ import annotations

import re

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options
from markupsafe import Markup

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
# Nothing here loads anything but `img src` (checked below): no srcset, style, background or poster.
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},  # fenced code keeps its `language-xxx` class
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
}
_CODE_CLASS = re.compile(r"^(language-[A-Za-z0-9_+#.-]{1,40}\s*)+$")
_EXTENSIONS = ["table", "strikethrough"]
_OPTIONS = Options.CMARK_OPT_UNSAFE  # raw HTML goes through, to nh3: one sanitiser for everything

# Every page that shows Markdown sits two folders below the site root (runs/<id>/, experiments/<id>/),
# so a relative path may climb at most two levels before it leaves the site.
PAGE_DEPTH = 2
_URL_EDGE = "".join(map(chr, range(0x21)))  # browsers strip C0 controls and spaces around a URL
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")  # ... and drop tabs and newlines anywhere in it
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def stays_on_site(src: str) -> bool:
    """True if a browser reads `src` as a relative path that cannot leave the site.

    Read the way a browser's URL parser does: edges stripped, tabs and newlines dropped, `\\` taken
    as `/`. Refused: any scheme (`http:`, `data:`, ...), a leading `/` (protocol-relative `//host`,
    and `/x`, which leaves a site served under a prefix) and climbing above the site root with `..`.
    """
    path = _TAB_OR_NEWLINE.sub("", src.strip(_URL_EDGE)).replace("\\", "/")
    if path.startswith("/") or _SCHEME.match(path):
        return False
    depth = PAGE_DEPTH
    for segment in re.split(r"[?#]", path, maxsplit=1)[0].split("/"):
        segment = segment.lower().replace("%2e", ".")  # browsers read %2e in a dot segment as a dot
        if segment == "..":
            depth -= 1
        elif segment not in ("", "."):
            depth += 1
        if depth < 0:
            return False
    return True


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not stays_on_site(value):
        return None
    if tag == "code" and attribute == "class" and not _CODE_CLASS.match(value):
        return None
    return value


def _from_base(base: str):
    """`_keep_attribute`, with relative image paths read from `base` (then checked like any other)."""
    if not base:
        return _keep_attribute

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src" and stays_on_site(value):
            value = base + value.strip(_URL_EDGE)
        return _keep_attribute(tag, attribute, value)

    return keep


def _keep_attribute_in_one_file(tag: str, attribute: str, value: str) -> str | None:
    """A single-file export has nothing beside it: an image path or a relative link would lead nowhere, and
    a `#fragment` to an element of another page. Only links with a scheme (nh3 allows http, https, mailto) stay."""
    if tag == "img" and attribute == "src":
        return None
    if tag == "a" and attribute == "href" and not _SCHEME.match(_TAB_OR_NEWLINE.sub("", value.strip(_URL_EDGE))):
        return None
    return _keep_attribute(tag, attribute, value)


# ---- nesting cap: raw HTML and Markdown quotes/lists can nest without limit ----

MAX_DEPTH = 64
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
                   "source", "track", "wbr"])
_TAG_NAME = re.compile(r"(/?)([A-Za-z][^\t\n\f\r />]*)")
_TAG_STOP = re.compile(r"[>=]")
_VALUE_QUOTE = re.compile(r"[\t\n\f\r ]*([\"'])")


def _tag_end(html: str, pos: int) -> int:
    """Index just past the `>` that closes a tag whose attributes start at `pos`; -1 if none does.

    A quoted attribute value may hold `>`; a tag left open runs to the end (as in HTML5, it is dropped).
    """
    while True:
        stop = _TAG_STOP.search(html, pos)
        if stop is None:
            return -1
        if stop[0] == ">":
            return stop.end()
        quote = _VALUE_QUOTE.match(html, stop.end())
        if quote is None:
            pos = stop.end()
            continue
        close = html.find(quote[1], quote.end())
        if close < 0:
            return -1
        pos = close + 1


def _comment_end(html: str, start: int) -> int:
    """`<!--` at start: index past its end (`<!-->` and `<!--->` are whole comments), or the end of the text."""
    for empty in ("<!-->", "<!--->"):
        if html.startswith(empty, start):
            return start + len(empty)
    close = html.find("-->", start + 4)
    return len(html) if close < 0 else close + 3


def cap_nesting(html: str, max_depth: int = MAX_DEPTH) -> str:
    """The same HTML with no element nested deeper than max_depth, written so a parser cannot read it otherwise.

    One pass, in linear time. What this pass reads as markup is what the output holds as markup: text
    `<` becomes `&lt;`, comments and other `<!`/`<?` constructs are dropped, `>` inside attribute values
    becomes `&gt;`, and every end tag closes what it matches here. Start tags past the depth are dropped
    (their text stays); nh3 then sees at most as many open elements as counted here.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while True:
        lt = html.find("<", pos)
        if lt < 0:
            out.append(html[pos:])
            return "".join(out)
        out.append(html[pos:lt])
        tag = _TAG_NAME.match(html, lt + 1)
        if tag is None:
            if html.startswith("<!--", lt):
                pos = _comment_end(html, lt)
            elif html.startswith(("<!", "<?", "</"), lt):
                end = html.find(">", lt)
                pos = len(html) if end < 0 else end + 1
            else:
                out.append("&lt;")
                pos = lt + 1
            continue
        end = _tag_end(html, tag.end())
        if end < 0:
            return "".join(out)
        name = tag[2].lower()
        if tag[1]:
            out.append(_close(stack, name))
        elif name in _VOID or len(stack) < max_depth:
            out.append(html[lt:end - 1].replace(">", "&gt;") + ">")
            if name not in _VOID:
                stack.append(name)
        pos = end


def _close(stack: list[str], name: str) -> str:
    """End tags for everything open down to the innermost `name`; nothing if `name` is not open."""
    if name not in stack:
        return ""
    closed = []
    while True:
        top = stack.pop()
        closed.append(f"</{top}>")
        if top == name:
            return "".join(closed)


_HEADING = re.compile(r"<(/?)h([1-6])>")


def render_markdown(text: str | None, shift_headings: int = 0, *, one_file: bool = False, base: str = "") -> Markup:
    """Markdown source to clean HTML; empty Markup for None or blank text.

    `shift_headings` pushes headings down (a `#` in a note sits under the page's own h1 and h2).
    `one_file`: for the single-file export, which carries no other page and no image beside it.
    `base`: where the text's own relative image paths start from, relative to the page (a Markdown
    artifact, dvclive's report.md, shows the images beside it: `artifacts/<its folder>/`).
    """
    if text is None or not str(text).strip():
        return Markup("")
    source = str(text).encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot reach C
    html = cmarkgfm.markdown_to_html_with_extensions(source, options=_OPTIONS, extensions=_EXTENSIONS).rstrip("\n")
    cleaned = nh3.clean(cap_nesting(html), tags=_TAGS, attributes=_ATTRIBUTES,
                        attribute_filter=_keep_attribute_in_one_file if one_file else _from_base(base),
                        url_schemes={"http", "https", "mailto"}, clean_content_tags={"script", "style"},
                        link_rel="noopener noreferrer nofollow")
    if shift_headings:
        cleaned = _HEADING.sub(lambda m: f"<{m[1]}h{min(6, int(m[2]) + shift_headings)}>", cleaned)
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above
