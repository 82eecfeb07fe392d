"""Each page type parsed as HTML: what it shows, its links, and that no log value becomes markup."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from site_logs import CNN, HOUSES, LASSO1, LASSO2, RIDGE, SWEEP, write_hostile_logs, write_site_logs

from reporter.config import BuildConfig
from reporter.site.artifacts import FRAME_POLICY
from reporter.site.build import build
from reporter.site.markdown import render_markdown
from reporter.site.urls import site_id


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("html")
    logs = write_site_logs(root / "logs")
    build(BuildConfig.from_options(logs, root / "site", environ={}))
    return root / "site"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    logs = write_hostile_logs(root / "logs")
    build(BuildConfig.from_options(logs, root / "site", environ={}))
    return root / "site"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def cells(table) -> dict[str, list[str]]:
    return {row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.find_all("td")]
            for row in table.tbody.find_all("tr")}


def test_home_lists_experiments_recent_runs_and_search(site):
    page = soup(site / "index.html")
    experiments = page.find("table", class_="experiments")
    assert [th.get_text() for th in experiments.thead.find_all("th")] == \
        ["Experiment", "Runs", "By status", "Last activity (UTC)"]
    rows = cells(experiments)
    assert rows["houses"][0] == "4" and rows["houses"][1] == "FINISHED3,FAILED1"
    assert rows["mnist"][0] == "1"
    assert experiments.find("a", string="houses")["href"] == f"experiments/{HOUSES}/index.html"
    recent = [a.get_text() for a in page.find("table", class_="recent").tbody.select("th a")]
    assert recent == ["cnn", "ridge", "lasso-1", "lasso-0.1", "sweep"]  # newest first
    assert page.select_one("[data-runs-table] input[type=search]") is not None
    assert [s["src"] for s in page.find_all("script")][:1] == ["runs-data.js"]


def test_experiment_page_has_notes_tags_table_and_csv(site):
    page = soup(site / f"experiments/{HOUSES}/index.html")
    assert page.h1.get_text() == "houses"
    notes = page.find("section", class_="notes")
    assert notes.find("strong").get_text() == "house prices"  # the mlflow.note.content tag
    assert notes.find("h4", string="Plan") and notes.find("code", string="lasso")  # notes.md
    assert cells(page.find("table", class_="kv")) == {"team": ["pricing"]}
    table = page.select_one("section[data-runs-table]")
    assert table["data-root"] == "../../" and table["data-compare"] == "../../compare.html"
    csv_link = page.find("a", string="Download CSV (.gz)")
    assert csv_link["href"] == "runs.csv.gz" and (site / f"experiments/{HOUSES}/runs.csv.gz").is_file()
    assert "gzip-compressed CSV" in csv_link["title"]
    assert page.find(id="charts") is not None  # slot for the charts issue


def test_the_runs_table_is_in_the_html_for_readers_without_javascript(site):
    """The first page of the runs table (top-level runs newest first, children under their parent) with links."""
    page = soup(site / f"experiments/{HOUSES}/index.html")
    table = page.select_one("section[data-runs-table] table.runs")
    links = [(a.get_text(), a["href"]) for a in table.select("tbody th[scope=row] a")]
    assert links == [("ridge", f"../../runs/{RIDGE}/index.html"), ("sweep", f"../../runs/{SWEEP}/index.html")]
    assert [tr["data-run-id"] for tr in table.select("tbody tr")] == [RIDGE, SWEEP]
    header = [th["data-col"] for th in table.select("thead th")]
    assert header[:6] == ["name", "status", "start", "duration", "user", "source"]
    assert header.index("metrics.r2") < header.index("metrics.rmse") < header.index("params.C")
    assert cells(table)["ridge"][:2] == ["FAILED", "2024-11-27 09:33:24"]
    assert cells(table)["ridge"][header.index("metrics.rmse") - 1] == "1.5"
    home = soup(site / "index.html").select_one("section[data-runs-table] table.runs")
    assert [a.get_text() for a in home.select("tbody th[scope=row] a")] == ["cnn", "ridge", "sweep"]
    assert "experiment" in [th["data-col"] for th in home.select("thead th")]  # runs of several experiments


def test_run_page_shows_everything_about_the_run(site):
    page = soup(site / f"runs/{LASSO1}/index.html")
    assert page.h1.get_text(" ", strip=True) == "lasso-0.1 FINISHED"
    assert page.find("a", string="sweep")["href"] == f"../../runs/{SWEEP}/index.html"
    assert page.find("section", class_="description").find("em").get_text() == "lasso"
    tables = {t.caption.get_text(" ", strip=True).split(" ·")[0]: t for t in page.find_all("table") if t.caption}
    assert cells(tables["Parameters"]) == {"C": ["0.1"], "model": ["lasso"]}
    assert cells(tables["Metrics"])["rmse"] == ["0.41", "0.41", "0.9", "3", "2"]  # last, min, max, points, step
    assert cells(tables["Tags"]) == {"formula": ["=1+2"], "stage": ["dev"]}
    assert cells(tables["Run information"])["User"] == ["ana"]
    assert page.find("a", string="full history as gzip-compressed CSV")["href"] == "metrics.csv.gz"
    image = page.find("img", class_="preview")
    assert image["src"] == "artifacts/plots/curve.png" and image["alt"] == "plots/curve.png"
    frame = page.find("iframe")
    assert frame.has_attr("sandbox") and not frame["sandbox"] and not frame.has_attr("src")
    # Shown from inside the page, behind a policy that loads nothing off the site; the copy is a download.
    assert frame["srcdoc"] == FRAME_POLICY + "<p>an html artifact</p>\n"
    assert page.find("a", string="page.html")["href"] == "artifacts/page.html.download"
    assert page.find("table", class_="csv").thead.get_text(" ", strip=True) == "x y"
    assert page.find("div", class_="markdown").find("strong").get_text() == "good"  # report.md rendered
    assert page.find("pre", class_="preview").get_text() == "hello artifact\n"
    model = page.find("div", class_="model")
    assert model.strong.get_text() == "Lasso" and "sklearn.linear_model" in model.get_text()
    assert cells(model.find_all("table")[0]) == {"alpha": ["0.1"], "max_iter": ["1000"]}
    assert page.find("a", string="model.pkl")["href"] == "artifacts/model/model.pkl"


def test_parent_lists_children_and_svg_is_an_image(site):
    parent = soup(site / f"runs/{SWEEP}/index.html")
    assert [a["href"] for a in parent.select("ul.children a")] == \
        [f"../../runs/{LASSO2}/index.html", f"../../runs/{LASSO1}/index.html"]
    info = cells(parent.find("table", class_="kv"))
    assert info["Git commit"] == ["4e5f6a7b8c9d"] and info["Git dirty"] == ["yes"]
    ridge = soup(site / f"runs/{RIDGE}/index.html")
    assert ridge.find("img", alt="logo.svg")["src"].startswith("data:image/svg+xml;base64,")  # never runs script
    assert ridge.find("object") is None and ridge.find("embed") is None
    cnn = cells(soup(site / f"runs/{CNN}/index.html").find("table", class_="metrics"))
    assert cnn["loss"] == ["1.1", "1.1", "2.3", "3", "2"]  # NaN counted as a point, left out of min/max


def test_every_internal_link_is_relative_and_names_an_existing_file(site):
    pages = sorted(site.rglob("*.html"))
    pages = [p for p in pages if "artifacts" not in p.parts]
    assert len(pages) == 9
    for page in pages:
        html = soup(page)
        for tag, attr in (("a", "href"), ("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src")):
            for element in html.find_all(tag):
                url = element.get(attr)
                if url is None or (tag == "img" and url.startswith("data:image/svg+xml;base64,")):
                    continue
                parts = urlsplit(url)
                assert not parts.scheme and not parts.netloc and not url.startswith("/"), (page, url)
                assert not url.endswith("/"), (page, url)
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_file(), (page, url)
                assert site.resolve() in target.parents, (page, url)


def test_every_table_has_header_cells_and_every_image_alt_text(site):
    for page in site.rglob("*.html"):
        if "artifacts" in page.parts:
            continue
        html = soup(page)
        for table in html.find_all("table"):
            if table.find_parent(attrs={"data-runs-table": True}):
                continue  # drawn by table.js
            assert table.thead and table.thead.find("th", scope="col"), page
        for image in html.find_all("img"):
            assert image.get("alt"), page


def test_no_log_value_becomes_markup(hostile_site):
    pages = [p for p in hostile_site.rglob("*.html") if "artifacts" not in p.parts]
    assert len(pages) == 5
    for page in pages:
        html = soup(page)
        for script in html.find_all("script"):
            if script.get("type") == "application/json":  # a chart spec: data, never run
                assert not script.get("src") and "<" not in script.string and json.loads(script.string), page
                continue
            src = script.get("src", "").removeprefix("../../")
            assert src in ("runs-data.js", "static/filter.js", "static/shards.js", "static/groups.js",
                           "static/table_draw.js", "static/table.js", "static/compare_charts.js", "static/compare.js",
                           "compare-data.js",
                           "static/vega-bundle.js", "static/charts.js"), (page, script)
            assert not script.string
        for element in html.find_all(True):
            for name, value in element.attrs.items():
                assert not name.lower().startswith("on"), (page, element)
                text = " ".join(value) if isinstance(value, list) else value
                assert not text.strip().lower().startswith("javascript:") or name == "title", (page, element)
        for frame in html.find_all("iframe"):
            assert frame.has_attr("sandbox") and not frame["sandbox"], page
        assert html.find("svg") is None and html.find("object") is None
        assert "\x00" not in page.read_text()
    data = (hostile_site / "runs-data.js").read_text()
    assert "</script>" not in data and "<\\/script>" in data
    for compare in [hostile_site / "compare-data.js", *hostile_site.glob("runs/*/compare-data.js")]:
        text = compare.read_text()
        assert "<" not in text and ">" not in text, compare
    assert any("\\u003cscript\\u003e" in p.read_text() for p in hostile_site.glob("runs/*/compare-data.js"))


def test_hostile_artifact_names_stay_text(hostile_site):
    page = soup(hostile_site / f"runs/{'f' * 32}/index.html")
    link = page.find("a", string="<img src=x onerror=alert(5)>.txt")
    assert link["href"] == "artifacts/%3Cimg%20src%3Dx%20onerror%3Dalert%285%29%3E.txt"
    assert page.find("img", src="x") is None or not page.find("img", src="x").get("onerror")


def test_markdown_is_sanitised():
    html = str(render_markdown("hi <script>x()</script> [a](javascript:x()) ![r](https://evil.example/p.png)"
                               " ![l](pic.png)\n\n```python\nprint(1)\n```"))
    assert "<script" not in html and "javascript:" not in html and "evil.example" not in html
    assert 'src="pic.png"' in html and 'class="language-python"' in html
    assert str(render_markdown(None)) == "" and str(render_markdown("  ")) == ""
    assert str(render_markdown("# a\n\n###### b", shift_headings=2)) == "<h3>a</h3>\n<h6>b</h6>"


def test_site_ids_are_safe_folder_names():
    assert site_id("a" * 32) == "a" * 32
    for odd in ("../etc", "plain:logs/x.jsonl", "a b", ".hidden", "x."):
        made = site_id(odd)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", made) and made != odd
    assert site_id("a b") != site_id("a-b")
