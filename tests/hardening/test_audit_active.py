"""No file the build writes from the logs is active content at a URL of the site.

A browser renders HTML, SVG and every XML type as a document that runs its scripts with the site's
origin (on GitHub Pages, the user's own). So an artifact is copied under its own name only when that
name is inert (an image, text, data, a download); any other gets a download-only name, and the run
page shows HTML in a sandboxed srcdoc iframe and SVG as an <img> of a data: URI, neither of which
runs script. The browser side of this is tests/browser/test_audit_active_browser.py.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from logwriting import artifact, end, write_artifact, write_experiment, write_run

from reporter.config import BuildConfig
from reporter.site.artifacts import FRAME_POLICY
from reporter.site.build import build, gather, publishable, read_data
from reporter.site.export import export

RUN = "a" * 32
SCRIPT_HTML = b'<html><body><p>report</p><script>document.title="PWNED";window.top.pwned=1</script></body></html>'
SCRIPT_XML = (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
              b'<script>document.title="PWNED";window.top.pwned=1</script></body></html>')
SCRIPT_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="window.top.pwned=1">'
              b'<script>document.title="PWNED";window.top.pwned=1</script><rect width="10" height="10"/></svg>')
# Every extension a browser or a server's type table may turn into a document that runs script.
ACTIVE = (".html", ".htm", ".shtml", ".shtm", ".xhtml", ".xht", ".xml", ".svg", ".svgz", ".xsl", ".xslt",
          ".rss", ".atom", ".rdf", ".xbl", ".mht", ".mhtml", ".mhtm", ".hta")
ACTIVE_ARTIFACTS = {
    "page.html": SCRIPT_HTML, "PAGE.HTM": SCRIPT_HTML, "a.shtml": SCRIPT_HTML, "a.Shtm": SCRIPT_HTML,
    "a.xhtml": SCRIPT_XML, "a.xht": SCRIPT_XML, "a.xml": SCRIPT_XML, "a.XSL": SCRIPT_XML, "a.rss": SCRIPT_XML,
    "a.atom": SCRIPT_XML, "a.rdf": SCRIPT_XML, "a.xbl": SCRIPT_XML, "a.mhtml": SCRIPT_HTML, "a.hta": SCRIPT_HTML,
    "x.svg": SCRIPT_SVG, "x.SVGZ": SCRIPT_SVG, "y.Svg": SCRIPT_SVG,
    "nested/deep/inner.html": SCRIPT_HTML, "nested/deep/pic.svg": SCRIPT_SVG, "nested/feed.xml": SCRIPT_XML,
    "no-extension": SCRIPT_HTML, "trailing-dot.html.": SCRIPT_HTML, "script.js": b"window.top.pwned=1",
}


def write_logs(log_dir: Path, artifacts: dict[str, bytes], run_id: str = RUN) -> Path:
    exp = write_experiment(log_dir, "exp", "exp-00000001")
    for name, data in artifacts.items():
        write_artifact(exp / run_id, name, data)
    write_run(exp, run_id, [*(artifact(name, len(data)) for name, data in artifacts.items()), end()], name="r")
    return log_dir


def build_site(logs: Path, out: Path) -> tuple[BuildConfig, set[str]]:
    """Build; returns the config and the pages flowsheet rendered (from the build's own plan)."""
    config = BuildConfig.from_options(logs, out, environ={})
    build(config)
    data, _ = publishable(read_data(logs), config)
    return config, {page.path for page in gather(data, config).pages}


def is_active(relpath: str) -> bool:
    """A name a browser may open as a document with script: by our list, or by this machine's type table."""
    name = PurePosixPath(relpath).name.lower()
    kind = mimetypes.guess_type(name, strict=False)[0] or ""
    return name.endswith(ACTIVE) or kind in ("text/html", "application/xhtml+xml") or "xml" in kind


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def artifact_block(page: BeautifulSoup, name: str):
    link = page.find(lambda tag: tag.name in ("a", "span") and tag.get_text() == name)
    assert link is not None, name
    return link.find_parent("div", class_="artifact")


@pytest.fixture
def active_site(tmp_path):
    logs = write_logs(tmp_path / "logs", {**ACTIVE_ARTIFACTS, "plot.png": b"\x89PNG\r\n\x1a\nnot-really"})
    # Run ids are folder names on the site: ids that look like active files become folders holding a page.
    exp = logs / "exp-00000001"
    for run_id in ("x.svg", "index.html"):
        write_run(exp, run_id, [end()], name=run_id)
    out = tmp_path / "site"
    _, pages = build_site(logs, out)
    return out, pages


def test_no_active_file_outside_flowsheets_own_pages(active_site):
    out, pages = active_site
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    active = {relpath for relpath in written if is_active(relpath)}
    assert active and active <= pages, sorted(active - pages)
    # Every artifact was copied (under a name a browser will not run) with its bytes unchanged.
    copied = {p.relative_to(out / f"runs/{RUN}/artifacts").as_posix(): p.read_bytes()
              for p in (out / f"runs/{RUN}/artifacts").rglob("*") if p.is_file()}
    assert len(copied) == len(ACTIVE_ARTIFACTS) + 1
    from reporter.site.artifacts import site_name_for_artifact
    for name, data in ACTIVE_ARTIFACTS.items():
        assert copied[site_name_for_artifact(name)] == data, name
    # The ids "x.svg" and "index.html" are folders, each holding a page flowsheet made.
    assert (out / "runs/x.svg/index.html").is_file() and (out / "runs/index.html/index.html").is_file()


def test_links_download_the_original_name_from_an_inert_copy(active_site):
    out, _ = active_site
    run_dir = out / f"runs/{RUN}"
    page = soup(run_dir / "index.html")
    links = {a["download"]: a["href"] for a in page.select(".artifact-head a[href]")}
    assert set(links) == {PurePosixPath(name).name for name in ACTIVE_ARTIFACTS} | {"plot.png"}
    for href in links.values():
        assert not is_active(href), href
        assert (run_dir / unquote(href)).is_file(), href
    assert links["plot.png"] == "artifacts/plot.png"  # inert names keep their name


def test_html_is_shown_in_a_sandboxed_srcdoc_frame_and_svg_as_an_image(active_site):
    out, _ = active_site
    html = (out / f"runs/{RUN}/index.html").read_text(encoding="utf-8")
    page = BeautifulSoup(html, "html.parser")
    frames = page.find_all("iframe")
    assert len(frames) == 7  # .html .HTM .shtml .Shtm .xhtml .xht, and the nested .html
    for frame in frames:
        assert frame.has_attr("sandbox") and not frame["sandbox"], frame  # nothing allowed: no script, no origin
        # The file as logged, after a policy that keeps its images and styles from loading off the site.
        assert frame["srcdoc"].startswith(FRAME_POLICY)
        assert not frame.has_attr("src") and frame["srcdoc"][len(FRAME_POLICY):] in (SCRIPT_HTML.decode(),
                                                                                       SCRIPT_XML.decode())
    assert "<script>" not in html.split("<main", 1)[1].split("</main>")[0]  # the srcdoc is attribute-escaped
    for name in ("x.svg", "y.Svg", "pic.svg"):
        image = artifact_block(page, name).find("img")
        prefix = "data:image/svg+xml;base64,"
        assert image["src"].startswith(prefix) and base64.b64decode(image["src"][len(prefix):]) == SCRIPT_SVG
    assert artifact_block(page, "plot.png").find("img")["src"] == "artifacts/plot.png"
    assert page.find("object") is None and page.find("embed") is None


def test_previews_too_large_to_inline_say_so(tmp_path):
    big_html = b"<p>" + b"x" * (2 * 1024 * 1024) + b"</p>"
    big_svg = b'<svg xmlns="http://www.w3.org/2000/svg">' + b" " * (2 * 1024 * 1024) + b"</svg>"
    logs = write_logs(tmp_path / "logs", {"big.html": big_html, "big.svg": big_svg})
    build_site(logs, tmp_path / "site")
    page = soup(tmp_path / f"site/runs/{RUN}/index.html")
    assert page.find("iframe") is None and page.find("img") is None
    for name in ("big.html", "big.svg"):
        assert "too large to preview" in artifact_block(page, name).get_text()
    assert (tmp_path / "site/runs" / RUN / "index.html").stat().st_size < 1024 * 1024


def test_download_names_never_collide(tmp_path):
    artifacts = {"a.html": b"one", "a.html.download": b"two", "b": b"three", "b.download/c.png": b"four",
                 "d.download.download": b"five"}
    logs = write_logs(tmp_path / "logs", artifacts)
    build_site(logs, tmp_path / "site")
    root = tmp_path / f"site/runs/{RUN}/artifacts"
    from reporter.site.artifacts import site_name_for_artifact
    copies = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert sorted(copies.values()) == sorted(artifacts.values())
    assert {site_name_for_artifact(name): data for name, data in artifacts.items()} == copies


def test_compare_page_and_export_carry_no_active_image(tmp_path):
    logs = write_logs(tmp_path / "logs", {"x.svg": SCRIPT_SVG, "plot.png": b"\x89PNG\r\n\x1a\n"})
    out = tmp_path / "site"
    build_site(logs, out)
    text = (out / f"runs/{RUN}/compare-data.js").read_text(encoding="utf-8")
    data = json.loads(re.search(r'window\.FLOWSHEET_COMPARE_RUN\("[^"]*", (.*)\);\n', text).group(1))
    images = data["images"]
    assert images == {"plot.png": f"runs/{RUN}/artifacts/plot.png"}
    config = BuildConfig.from_options(logs, tmp_path / "unused", environ={})
    exported = tmp_path / "report.html"
    export(config, read_data(logs), exported)
    html = exported.read_text(encoding="utf-8")
    assert "PWNED" not in html and base64.b64encode(SCRIPT_SVG).decode() not in html
    assert "data:image/png;base64," in html  # the raster image travels inside the file
