"""Script injection: every payload of tests/fixtures/xss_payloads.txt in every field that reaches a page.

The log puts each payload into experiment and run names, param and tag keys and values, metric keys,
descriptions, notes.md, artifact names and contents (HTML, SVG, Markdown, CSV, text, JSON). The site and
the single-file export are then checked as files (no template evaluation, CSV formulas neutralised) and
in Chromium: on every page type, no dialog opens and no marker a payload would set appears.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import pytest
from browser.conftest import chromium  # noqa: F401  (the module-scoped Chromium of the browser tests)
from site_logs import T0, experiment, run

from logger.reader import read_logs

from reporter.config import BuildConfig
from reporter.site.build import build

PAYLOAD_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "xss_payloads.txt"
PAYLOADS = [line.rstrip("\n") for line in PAYLOAD_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.strip() and not line.startswith("#")]
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
KEYS = [p for p in PAYLOADS if not CONTROL.search(p)]  # keys with control characters are refused by the format
EVERYTHING = "f" * 32
PER_EXPERIMENT = 12
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def experiment_id(index: int) -> str:
    return f"xss-{index:08d}"


def run_id(index: int) -> str:
    return f"{index:032x}"


def file_name(payload: str) -> str:
    """A payload as a file name: no '/', no NUL, not hidden, at most 200 bytes."""
    name = payload.replace("/", "\u2215").replace("\x00", "").replace("\\", "\u29f5").lstrip(".").strip() or "dot"
    return name.encode("utf-8")[:200].decode("utf-8", errors="ignore")


def markdown_with_all() -> str:
    return "# Notes\n\n" + "\n\n".join(PAYLOADS) + "\n\n<div onclick=\"window.__pwned=1\">raw html</div>\n"


def write_xss_logs(log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    notes = markdown_with_all()
    groups = [PAYLOADS[i:i + PER_EXPERIMENT] for i in range(0, len(PAYLOADS), PER_EXPERIMENT)]
    for g, group in enumerate(groups):
        folder = experiment(log_dir, experiment_id(g), group[0],
                            {KEYS[g % len(KEYS)]: group[-1], "mlflow.note.content": notes})
        (folder / "notes.md").write_text(notes, encoding="utf-8")
        for i, payload in enumerate(group):
            n = g * PER_EXPERIMENT + i
            run(folder, run_id(n + 1), payload, T0 + n * 1000, description=payload,
                params={KEYS[n % len(KEYS)]: payload, "plain": PAYLOADS[(n + 1) % len(PAYLOADS)]},
                tags={KEYS[(n + 2) % len(KEYS)]: payload, "mlflow.note.content": payload},
                metrics={KEYS[(n + 3) % len(KEYS)]: [(0, 1.0), (1, 0.5)], "loss": [(0, float(n))]},
                system={"user": payload, "host": payload, "command": payload, "git_branch": payload},
                parent=run_id(n) if i else None)
    # One run carries everything: all payloads as keys, values and artifacts.
    folder = log_dir / experiment_id(0)
    html = "".join(f"<p>{p}</p>\n" for p in PAYLOADS).encode()
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="top.__pwned=1">'
           b'<script>top.__pwned=1;alert(9)</script><a href="javascript:top.__pwned=1"><rect width="9" height="9"/></a>'
           b'<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="top.__pwned=1"/></body>'
           b'</foreignObject></svg>')
    csv_text = "name,value\n" + "".join(f"{json.dumps(p)},{json.dumps(p)}\n" for p in PAYLOADS)
    artifacts = {"evil.html": html, "evil.htm": html, "evil.svg": svg, "evil.md": markdown_with_all().encode(),
                 "evil.csv": csv_text.encode(), "evil.txt": "\n".join(PAYLOADS).encode(),
                 "evil.json": json.dumps({p: p for p in PAYLOADS}).encode(),
                 "model/model.json": json.dumps({"flavor": "sklearn", "class": PAYLOADS[0], "module": PAYLOADS[8],
                                                 "params": {k: k for k in KEYS}, "versions": {k: k for k in KEYS}}).encode()}
    artifacts.update({f"names/{file_name(p)}.txt": p.encode() for p in PAYLOADS})
    run(folder, EVERYTHING, PAYLOADS[0], T0 - 1000, description=markdown_with_all(),
        params={k: k for k in KEYS}, tags={**{k: k for k in KEYS}, "mlflow.note.content": markdown_with_all()},
        metrics={k: [(0, 1.0), (1, 2.0)] for k in KEYS[:20]}, artifacts=artifacts,
        system={k: PAYLOADS[0] for k in ("user", "host", "command", "git_branch", "git_commit", "entry_point")})
    return log_dir


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("xss")
    logs = write_xss_logs(root / "logs")
    site = root / "site"
    build(BuildConfig.from_options(logs, site, environ={}))
    export_file = None
    try:
        from reporter.site.export import export
    except ImportError:  # the single-file export is another issue's: checked when it exists
        export = None
    if export is not None:
        export_file = root / "export.html"
        export(BuildConfig.from_options(logs, root / "unused", environ={}), read_logs(logs), export_file)
    return {"root": root, "logs": logs, "site": site, "export": export_file}


def test_the_corpus_is_big_enough():
    assert len(PAYLOADS) >= 50 and len(set(PAYLOADS)) == len(PAYLOADS)


def test_templates_are_never_evaluated(xss_site):
    files = [p for p in xss_site["site"].rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".csv", ".json")]
    files += [xss_site["export"]] if xss_site["export"] else []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "tmpl49tmpl" not in text, path
    shown = "".join(p.read_text(encoding="utf-8") for p in xss_site["site"].rglob("*.html"))
    assert "tmpl{{7*7}}tmpl" in shown and "tmpl${7*7}tmpl" in shown


def test_csv_files_neutralise_formulas(xss_site):
    csvs = list(xss_site["site"].rglob("runs.csv.gz")) + list(xss_site["site"].rglob("metrics.csv.gz"))
    assert csvs
    for path in csvs:
        for row in csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8"))):
            for cell in row:
                if cell.startswith(FORMULA_START):
                    float(cell)  # a negative number is the only cell allowed to start like a formula


def test_no_page_carries_a_live_handler_or_script_url(xss_site):
    from bs4 import BeautifulSoup

    for path in xss_site["site"].rglob("*.html"):
        if "artifacts" in path.relative_to(xss_site["site"]).parts:
            continue  # raw artifacts: shown only in sandboxed frames (checked in the browser)
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag in page.find_all(True):
            for name, value in tag.attrs.items():
                assert not name.lower().startswith("on"), (path, tag.name, name)
                text = " ".join(value) if isinstance(value, list) else str(value)
                if name in ("href", "src", "action", "formaction", "data"):
                    assert not re.match(r"\s*(javascript|vbscript|data:text/html)", text, re.I), (path, name, text)
        for link in page.find_all("a", href=re.compile(r"artifacts/.*\.(html?|svg|xml)$", re.I)):
            assert link.has_attr("download"), (path, link)  # a raw HTML or SVG artifact is never opened as a page
        for frame in page.find_all("iframe"):
            assert frame.has_attr("sandbox") and "allow-scripts" not in frame["sandbox"], (path, frame)
        for script in page.find_all("script"):
            # Log values inside scripts are JSON data with "<" escaped: nothing can end the script early.
            body = (script.string or "").lower()
            assert "<script" not in body and "</" not in body and "<!--" not in body, path


# ---------------------------------------------------------------------------------------- Chromium


def page_list(site: Path) -> list[str]:
    runs = [run_id(n + 1) for n in range(len(PAYLOADS))]
    experiments = sorted(p.parent.name for p in (site / "experiments").glob("*/index.html"))
    return (["index.html"] + [f"experiments/{e}/index.html" for e in experiments]
            + [f"runs/{EVERYTHING}/index.html"] + [f"runs/{r}/index.html" for r in runs[::6]]
            + [f"compare.html?runs={','.join([EVERYTHING] + runs)}"])


def check_markers(page, where: str) -> None:
    for frame in page.frames:
        try:
            assert frame.evaluate("typeof window.__pwned") == "undefined", (where, frame.url)
            assert "PWNED" not in frame.evaluate("document.title"), (where, frame.url)
        except AssertionError:
            raise
        except Exception as error:  # a sandboxed, script-less frame refuses evaluation: nothing ran there
            assert "pwned" not in str(error).lower()
    assert page.evaluate("typeof window.__pwned") == "undefined", where
    assert "PWNED" not in page.title(), where
    assert "tmpl49tmpl" not in page.evaluate("document.body.innerText"), where


def exercise(page) -> None:
    """What a reader does: hover, focus, click toggles, search, expand; handlers would fire now."""
    page.mouse.move(100, 100)
    page.mouse.move(500, 400)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    for toggle in page.locator("button.toggle").all()[:6]:
        toggle.click()
    search = page.locator("[data-role=search]")
    if search.count():
        search.first.fill("<img src=x onerror=window.__pwned=1>")
        search.first.fill("")
    for details in page.locator("details").all()[:10]:
        details.evaluate("(d) => d.open = true")
    page.wait_for_timeout(100)


@pytest.mark.browser
def test_no_payload_runs_in_chromium(xss_site, chromium):  # noqa: F811 - the fixture imported above
    from urllib.parse import urlsplit

    site = xss_site["site"]
    context = chromium.new_context()
    dialogs, outside = [], []
    context.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def route(request_route):
        url = urlsplit(request_route.request.url)
        if url.scheme in ("file", "data", "blob", "about"):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.set_content("<script>window.__pwned = 1</script>")  # the checks themselves must catch a payload
        with pytest.raises(AssertionError):
            check_markers(page, "self-check")
        targets = [(site / rel.partition("?")[0]).as_uri() + ("?" + rel.partition("?")[2] if "?" in rel else "")
                   for rel in page_list(site)]
        if xss_site["export"] is not None:
            targets.append(xss_site["export"].as_uri())
        for url in targets:
            page.goto(url, wait_until="load")
            page.wait_for_timeout(150)
            if "compare.html" in url or url.endswith("export.html"):
                page.evaluate("() => window.FlowsheetCharts && FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
                page.wait_for_timeout(200)
                if "compare.html" in url:
                    table = page.locator("#compare-table").inner_text()
                    assert "<script>window.__pwned=1</script>" in table  # shown as text
            exercise(page)
            check_markers(page, url)
        assert dialogs == [], dialogs
        assert outside == [], outside
    finally:
        context.close()
