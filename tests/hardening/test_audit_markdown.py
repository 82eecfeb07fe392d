"""Markdown from the logs (notes.md, descriptions, .md artifacts): linear to render, and no request off the site.

Work is counted, never timed: Python profiler events (the Python side of the renderer) and, where
valgrind is installed, the instructions executed (the C and Rust side too). Liveness runs in a child
process with a generous bound, which is a hang detector, not a performance target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser.conftest import chromium  # noqa: F401  (the module-scoped Chromium of the browser tests)
from bs4 import BeautifulSoup
from site_logs import T0, experiment, run

from benchmarks.bench_markdown import PATHOLOGICAL, hostile_markdown
from reporter.site.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[2]
LINEAR_ENOUGH = 8  # 4x the input may cost at most 8x the work: linear is 4, quadratic 16


def profiler_events(text: str) -> int:
    count = 0

    def tally(frame, event, arg):
        nonlocal count
        count += 1

    sys.setprofile(tally)
    try:
        render_markdown(text)
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_hostile_markdown_python_work_grows_linearly(name):
    small, large = (profiler_events(hostile_markdown(name, size)) for size in (5_000, 20_000))
    assert large / small < LINEAR_ENOUGH, (name, small, large)


# Each render sits between os.getppid() and os.getpgrp(): callgrind zeroes its counters before the
# first and dumps them before the second, so every dump holds the instructions of exactly one render.
CALLGRIND_CHILD = """
import os, sys
from benchmarks.bench_markdown import PATHOLOGICAL, hostile_markdown
from reporter.site.markdown import render_markdown
render_markdown("warm *up*")
for name in PATHOLOGICAL:
    for size in (4000, 16000):
        text = hostile_markdown(name, size)
        os.getppid()
        render_markdown(text)
        os.getpgrp()
"""


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed: instruction counts unavailable")
def test_hostile_markdown_instructions_grow_linearly(tmp_path):
    out = tmp_path / "callgrind.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--zero-before=getppid", "--dump-before=getpgrp",
                    f"--callgrind-out-file={out}", sys.executable, "-c", CALLGRIND_CHILD],
                   cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
                   check=True, capture_output=True, timeout=900)
    dumps = sorted(tmp_path.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
    counts = [int(re.search(r"^summary: (\d+)", p.read_text(), re.M)[1]) for p in dumps]
    assert len(counts) == 2 * len(PATHOLOGICAL)
    ratios = {name: counts[2 * i + 1] / counts[2 * i] for i, name in enumerate(PATHOLOGICAL)}
    assert max(ratios.values()) < LINEAR_ENOUGH, ratios


LIVENESS_CHILD = """
import sys
from benchmarks.bench_markdown import hostile_markdown
from reporter.site.markdown import render_markdown
render_markdown(hostile_markdown(sys.argv[1], 1_000_000))
"""


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_a_megabyte_of_hostile_markdown_renders(name):
    subprocess.run([sys.executable, "-c", LIVENESS_CHILD, name], cwd=ROOT, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_deep_nesting_is_capped_but_the_text_stays():
    html = str(render_markdown("> " * 5000 + "deep\n\n" + "<div>" * 5000 + "deeper"))
    assert "deep" in html and "deeper" in html
    assert 0 < html.count("<blockquote>") < 200 and html.count("<div>") < 200


def test_ordinary_notes_render_as_before():
    html = str(render_markdown(
        "# Title\n\nSome *notes* with `code`, a [link](https://example.org) and ~~old~~ text.\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n\n- one\n  1. nested\n\n"
        "<details><summary>More</summary>hidden <kbd>x</kbd></details>\n\n<!-- a comment -->\n", shift_headings=2))
    page = BeautifulSoup(html, "html.parser")
    assert page.h3.get_text() == "Title" and page.em.get_text() == "notes" and page.find("code").get_text() == "code"
    assert page.a["href"] == "https://example.org" and page.find("del").get_text() == "old"
    assert [td.get("align") for td in page.find_all("td")] == ["left", "right"]
    assert page.find("code", class_="language-python").get_text() == "print(1)\n"
    assert page.ul.li.ol.li.get_text() == "nested"
    assert page.details.summary.get_text() == "More" and page.kbd.get_text() == "x"
    assert "a comment" not in html


def test_lone_surrogates_do_not_break_rendering():
    assert "ok" in str(render_markdown("ok \ud800"))


# Each of these would make a browser load something: from another host, another scheme, or the server root.
OFF_SITE_SRCS = [
    "/\\host/x.png", "\\\\host/x.png", "\\/host/x.png", " //host/x.png", "\t//host/x.png", "\n//host/x.png",
    "\x01//host/x.png", "//host/x.png", "http:host/x.png", "HTTPS://host/x.png", "/./host/x.png", "/x.png",
    "&#47;&#47;host/x.png", "&#x2F;&#x2F;host/x.png", "&bsol;&bsol;host/x.png", "&Tab;//host/x.png",
    "data:image/png;base64,AAAA", "javascript:alert(1)", "file:///etc/hosts", "ftp://host/x.png",
    "../../../x.png", "a/../../../../x.png", "%2e%2e/%2E%2E/.%2e/x.png",
]
ON_SITE_SRCS = ["pic.png", "artifacts/plot.png", "./pic.png", "%2F%2Fhost/x.png", "../../runs/r/artifacts/p.png",
                "a%3Ab.png"]
OTHER_LOADERS = [
    '<img src="pic.png" srcset="//host/2x.png 2x">',
    '<picture><source srcset="//host/s.png"><img src="pic.png"></picture>',
    '<video poster="//host/poster.png"></video>',
    '<table background="//host/bg.png"><tr><td background="//host/td.png">x</td></tr></table>',
    '<p style="background: url(//host/css.png)">styled</p>',
    '<div style="background-image:url(&quot;//host/q.png&quot;)">styled</div>',
    '<body background="//host/body.png"></body>',
    '<input type="image" src="//host/in.png">',
    '<link rel="stylesheet" href="//host/s.css">',
    '<object data="//host/o.swf"></object><embed src="//host/e.swf"><iframe src="//host/f.html"></iframe>',
    '<svg><image href="//host/svg.png"/></svg>',
]


def img_markdown(src: str) -> str:
    return f'<img src="{src}">\n\n![md]({src.replace(" ", "%20")})\n'


@pytest.mark.parametrize("src", OFF_SITE_SRCS)
def test_off_site_image_sources_are_dropped(src):
    page = BeautifulSoup(str(render_markdown(f'<img src="{src}">')), "html.parser")
    assert page.img.get("src") is None, page


@pytest.mark.parametrize("src", ["//host/x.png", "http:host/x.png", "/x.png", "../../../x.png", "&#47;&#47;host/x.png"])
def test_off_site_markdown_images_are_dropped(src):
    page = BeautifulSoup(str(render_markdown(f"![md]({src})")), "html.parser")
    assert page.img.get("src") is None, page


@pytest.mark.parametrize("src", ON_SITE_SRCS)
def test_relative_image_sources_stay(src):
    page = BeautifulSoup(str(render_markdown(f'<img src="{src}">')), "html.parser")
    assert page.img["src"] == src


@pytest.mark.parametrize("html", OTHER_LOADERS)
def test_no_other_attribute_loads_anything(html):
    cleaned = str(render_markdown(html))
    assert "host" not in cleaned and "style" not in cleaned.replace(">styled<", ""), cleaned


def every_trick() -> str:
    return "# Images\n\n" + "".join(img_markdown(src) for src in OFF_SITE_SRCS + ON_SITE_SRCS) + \
        "\n\n".join(OTHER_LOADERS) + "\n"


@pytest.mark.browser
class counting_server:  # noqa: N801 - used like a function
    """An HTTP server on 127.0.0.1 that answers 404 to everything and records the paths asked for."""

    def __init__(self):
        import http.server
        import threading

        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_notes_make_no_request_off_the_site(tmp_path, chromium):  # noqa: F811
    from reporter.config import BuildConfig
    from reporter.site.build import build

    logs = tmp_path / "logs"
    folder = experiment(logs, "imgs-00000001", "images", {"mlflow.note.content": every_trick()})
    (folder / "notes.md").write_text(every_trick(), encoding="utf-8")
    # An HTML artifact is previewed in a sandboxed frame: what it links to must not load either. Requests
    # of such a frame escape Playwright's routing, so they go to a server here that counts them.
    elsewhere = counting_server()
    page_html = (f'<link rel="stylesheet" href="{elsewhere.url}/s.css"><img src="{elsewhere.url}/x.png">'
                 f'<p style="background:url({elsewhere.url}/b.png)">report</p>').encode()
    run(folder, "a" * 32, "r", T0, description=every_trick(),
        artifacts={"notes.md": every_trick().encode(), "report.html": page_html})
    site = tmp_path / "site"
    build(BuildConfig.from_options(logs, site, environ={}))
    inside, outside = [], []
    prefix = site.as_uri() + "/"

    def route(request_route):
        url = request_route.request.url
        if url.startswith(prefix) or urlsplit(url).scheme in ("data", "blob", "about"):
            inside.append(url)
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    context = chromium.new_context()
    context.route("**/*", route)
    try:
        page = context.new_page()
        for rel in ("experiments/imgs-00000001/index.html", f"runs/{'a' * 32}/index.html"):
            page.goto((site / rel).as_uri(), wait_until="load")
            for frame in page.locator("iframe").all():  # lazy frames load once scrolled to
                frame.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
    finally:
        context.close()
    elsewhere.close()
    assert outside == [] and elsewhere.hits == []
    assert any(url.endswith("/pic.png") for url in inside)  # the images that are allowed do load


def test_a_markdown_artifacts_images_are_read_from_its_own_folder():
    """dvclive's report.md shows `static/loss.png` beside it: on the run page that is `artifacts/static/loss.png`."""
    from reporter.site.markdown import render_markdown

    base = "artifacts/dvclive/"
    assert 'src="artifacts/dvclive/static/loss.png"' in render_markdown("![loss](static/loss.png)", base=base)
    # what was refused stays refused: other schemes, absolute paths, climbing out of the site
    for src in ("https://example.com/x.png", "/etc/x.png", "../../../../x.png", "data:image/png;base64,AA=="):
        assert "<img" not in render_markdown(f"![x]({src})", base=base) or "src=" not in render_markdown(
            f"![x]({src})", base=base), src
