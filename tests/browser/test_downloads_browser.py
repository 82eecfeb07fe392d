"""The full downloads in Chromium: the run page's and the runs table's links fetch the .gz file the site
holds, from disk (file://) and from a plain static host, and their text says what the user gets."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from site_logs import HOUSES, LASSO1, write_site_logs

from tests.serving import static_server

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("downloads")
    out = root / "web" / "site"
    build(BuildConfig.from_options(write_site_logs(root / "logs"), out, environ={}))
    with static_server(root / "web") as base:
        yield {"out": out, "http": f"{base}/site"}


def download(chromium, url: str, link_name: str) -> tuple[str, str, str, bytes]:
    """Open url, click the link named link_name; (its href, its title, the name saved, the bytes saved)."""
    context = chromium.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        link = page.get_by_role("link", name=link_name, exact=True)
        href, title = link.get_attribute("href"), link.get_attribute("title")
        with page.expect_download() as info:
            link.click()
        saved = info.value
        return href, title, saved.suggested_filename, Path(saved.path()).read_bytes()
    finally:
        context.close()


@pytest.mark.parametrize("how", ["file", "http"])
def test_the_run_page_downloads_its_full_history_as_gzip_csv(site, chromium, how):
    folder = site["out"] / f"runs/{LASSO1}"
    url = (folder / "index.html").as_uri() if how == "file" else f"{site['http']}/runs/{LASSO1}/index.html"
    href, title, name, data = download(chromium, url, "full history as gzip-compressed CSV")
    assert href == "metrics.csv.gz" and (folder / href).is_file()
    assert title is None  # the link's text says it all: run pages stay lean (tests/reporter/test_lean_run_page.py)
    # the file as the site holds it: not unpacked on the way by a Content-Encoding
    assert name == "metrics.csv.gz" and data == (folder / href).read_bytes()
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    assert lines[0] == "key,step,timestamp,value" and len(lines) == 1 + 4


@pytest.mark.parametrize("how", ["file", "http"])
def test_the_runs_table_downloads_every_run_as_gzip_csv(site, chromium, how):
    folder = site["out"] / f"experiments/{HOUSES}"
    url = (folder / "index.html").as_uri() if how == "file" else f"{site['http']}/experiments/{HOUSES}/index.html"
    href, title, name, data = download(chromium, url, "Download CSV (.gz)")
    assert href == "runs.csv.gz" and name == "runs.csv.gz" and data == (folder / href).read_bytes()
    assert "gzip-compressed CSV" in title
    assert gzip.decompress(data).decode("utf-8").startswith("run_id,name,status,start_time")
