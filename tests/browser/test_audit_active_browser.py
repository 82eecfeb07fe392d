"""Opening a run page and then every artifact link on it runs no artifact's script, over file:// and HTTP.

The artifacts are documents a browser would run (HTML, XHTML, XML, SVG and the like, in any case);
each payload would set the page title, `window.top.pwned`, a localStorage key of the site's origin
and open an alert. The HTTP server is Python's, which picks a type by extension as GitHub Pages does.
"""

from __future__ import annotations

import pytest
from logwriting import artifact, end, write_artifact, write_experiment, write_run

from tests.serving import static_server

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

RUN = "a" * 32
RUN_PAGE = f"runs/{RUN}/index.html"
ACT = "document.title='PWNED';window.top.pwned=1;try{localStorage.setItem('pwned','1')}catch(e){};alert('pwned')"
HTML = f"<html><body><p>report</p><script>{ACT}</script></body></html>".encode()
XHTML = (f'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p>'
         f"<script>{ACT}</script></body></html>").encode()
SVG = (f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="{ACT}">'
       f"<script>{ACT}</script><rect width='10' height='10'/></svg>").encode()
ARTIFACTS = {
    "page.html": HTML, "PAGE.HTM": HTML, "a.shtml": HTML, "a.xhtml": XHTML, "a.xht": XHTML, "a.xml": XHTML,
    "a.XSL": XHTML, "a.rss": XHTML, "a.atom": XHTML, "a.xbl": XHTML, "x.svg": SVG, "x.SVGZ": SVG, "y.Svg": SVG,
    "nested/deep/inner.html": HTML, "nested/pic.svg": SVG, "no-extension": HTML, "model.bin": HTML,
    "report.md": b"[the report](artifacts/page.html) and [the picture](artifacts/x.svg)\n",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("active")
    exp = write_experiment(root / "logs", "exp", "exp-00000001")
    for name, data in ARTIFACTS.items():
        write_artifact(exp / RUN, name, data)
    write_run(exp, RUN, [*(artifact(name, len(data)) for name, data in ARTIFACTS.items()), end()], name="r")
    out = root / "site"
    build(BuildConfig.from_options(root / "logs", out, environ={}))
    with static_server(out) as base:
        yield {"file": (out / RUN_PAGE).as_uri(), "http": f"{base}/{RUN_PAGE}"}


def untouched(page) -> bool:
    """No payload ran in this document (its title, its window, its origin's storage)."""
    return page.evaluate("""() => document.title !== 'PWNED' && typeof window.pwned === 'undefined'
        && (() => { try { return localStorage.getItem('pwned') === null; } catch (e) { return true; } })()""")


def visit(context, url: str, dialogs: list) -> bool | None:
    """Open url in a new tab; whether no payload ran there (None when it was a download or not found)."""
    tab = context.new_page()
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        tab.goto(url, wait_until="load")
        return untouched(tab)
    except Exception as exc:  # noqa: BLE001 - a download or a missing file is not a page, so nothing ran
        assert "Download is starting" in str(exc) or "ERR_FILE_NOT_FOUND" in str(exc), exc
        return None
    finally:
        tab.close()


@pytest.mark.parametrize("how", ["file", "http"])
def test_no_artifact_link_runs_its_script(site, chromium, how):
    context = chromium.new_context(accept_downloads=True)
    dialogs = []
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(site[how], wait_until="load")
        assert untouched(page)
        # HTML shows in a sandboxed srcdoc frame and SVG as an image, so both are on the page itself.
        assert page.locator("iframe[sandbox='']").count() == 6  # .html .HTM .shtml .xhtml .xht, nested .html
        assert page.locator("img[src^='data:image/svg+xml;base64,']").count() == 3
        for frame in page.locator("iframe").all():
            frame.scroll_into_view_if_needed()  # the frames load lazily
        assert len(page.frames) == 7
        for frame in page.frames[1:]:
            frame.wait_for_selector("p")  # the report is drawn; its script did not run
            assert frame.title() != "PWNED"
        hrefs = page.eval_on_selector_all("#main .artifact a[href]", "links => links.map(a => a.href)")
        assert len(hrefs) == len(ARTIFACTS) + 2  # every file, and the two links of report.md
        outcomes = {href: visit(context, href, dialogs) for href in hrefs}
        assert all(outcome is not False for outcome in outcomes.values()), outcomes
        page.reload(wait_until="load")
        assert untouched(page) and dialogs == []
    finally:
        context.close()
