"""The site works under a repository sub-path, as on GitHub Pages: crawl every internal link over HTTP."""

import functools
import http.server
import threading
import urllib.error
import urllib.request
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

from reporter.config import BuildConfig
from reporter.site.build import build

ROOT_PATH = "/some-repo/"


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    from helpers import ROOT

    top = tmp_path_factory.mktemp("host")
    build(BuildConfig.from_options(ROOT / "sample_runs", top / "some-repo", quiet=True))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(top))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{ROOT_PATH}"
    server.shutdown()


def links_of(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    found = [tag.get("href") for tag in soup.find_all(["a", "link"]) if tag.get("href")]
    found += [tag.get("src") for tag in soup.find_all(["img", "script", "iframe"]) if tag.get("src")]
    return [link for link in found if not link.startswith(("#", "mailto:"))]


def test_every_internal_link_resolves_inside_the_site(served_site):
    start = served_site + "index.html"
    seen, queue, pages = set(), [start], 0
    broken, outside = [], []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url) as response:
                body = response.read()
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            broken.append((url, error.code))
            continue
        if kind != "text/html":
            continue
        pages += 1
        for link in links_of(body.decode("utf-8")):
            target = urljoin(url, link)
            parsed = urlparse(target)
            if parsed.scheme not in ("http", "https") or parsed.netloc != urlparse(start).netloc or not parsed.path.startswith(ROOT_PATH):
                outside.append((url, link))
            else:
                queue.append(target.split("#")[0].split("?")[0])
    assert broken == []
    assert outside == []
    assert pages >= 10  # home, experiments, runs and the compare page were all reached
