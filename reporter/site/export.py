"""`reporter export`: one self-contained HTML file for an experiment or a selection of runs.

The file is the site's own pages, inlined: the runs table (of the experiment, or of every selected
run), its charts and the compare view of the selection, with the CSS, the scripts, the Vega bundle,
the chart data and the compared images inside. It opens offline, e.g. from an email attachment.
Links to run pages point into the full site, which the single file does not carry.
"""

from __future__ import annotations

import base64
import mimetypes
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from logger.model import LogData
from reporter.config import BuildConfig
from reporter.site.artifacts import RASTER_TYPES
from reporter.site.build import build, publishable

DEFAULT_MAX_IMAGE_MB = 5.0

_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)">')
_SCRIPT = re.compile(r'<script src="([^"]+)"></script>')
_MAIN = re.compile(r'<main id="main">(.*?)</main>', re.S)
_INTERNAL_HREF = re.compile(r'<a href="(?!#|https?:|mailto:|data:)[^"]*"')
_COMPARE_BUTTON = re.compile(r'<button type="button" data-role="compare"[^>]*>.*?</button>', re.S)
_CSV_HREF = re.compile(r'href="([^":]+\.csv)"')


class ExportError(Exception):
    """Nothing to export, or a selection that names nothing; one line for the user."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    runs: int
    size: int
    images_left_out: int


def select(data: LogData, experiment: str | None, run_ids: list[str]) -> LogData:
    """The runs named (by id or id prefix) and/or those of the experiment (by name or id)."""
    runs = dict(data.runs)
    if experiment:
        ids = {e.experiment_id for e in data.experiments.values() if experiment in (e.name, e.experiment_id)}
        if not ids:
            raise ExportError(f"no experiment named {experiment!r}")
        runs = {rid: run for rid, run in runs.items() if run.experiment_id in ids}
    if run_ids:
        chosen = {}
        for wanted in run_ids:
            matches = [rid for rid in runs if rid.startswith(wanted)]
            if not matches:
                raise ExportError(f"no run {wanted!r}" + (f" in experiment {experiment!r}" if experiment else ""))
            chosen.update((rid, runs[rid]) for rid in matches)
        runs = chosen
    if not runs:
        raise ExportError("nothing to export: no runs" + (f" in experiment {experiment!r}" if experiment else ""))
    experiments = {eid: e for eid, e in data.experiments.items() if any(r.experiment_id == eid for r in runs.values())}
    return LogData(experiments=experiments, runs=runs, problems=data.problems)


def export(config: BuildConfig, data: LogData, out_file: Path, max_image_mb: float = DEFAULT_MAX_IMAGE_MB,
           title: str | None = None) -> ExportResult:
    """Build the selection's site in a temporary folder, then fold its pages into one file."""
    # The file's title, run count and selection show names and ids too: take them from what may be published.
    data, _ = publishable(data, config)
    with tempfile.TemporaryDirectory(prefix="flowsheet-export-") as folder:
        site = Path(folder) / "site"
        site_config = BuildConfig(**{**config.__dict__, "out_dir": site, "force": False, "quiet": True})
        build(site_config, data=data)
        if len(data.experiments) == 1:
            [experiment_id] = data.experiments
            table_page = site / "experiments" / experiment_id / "index.html"
        else:
            table_page = site / "index.html"
        images, left_out = _inline_images(site, max_image_mb * 1024 * 1024)
        selection = ",".join(sorted(data.runs))
        html = _assemble(site, table_page, site / "compare.html", selection, images,
                         title or _default_title(data), len(data.runs))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(html, encoding="utf-8")
    return ExportResult(out_file, len(data.runs), out_file.stat().st_size, left_out)


def _default_title(data: LogData) -> str:
    names = sorted(e.name for e in data.experiments.values())
    return f"{', '.join(names)}: {len(data.runs)} run{'s' if len(data.runs) != 1 else ''}"


def _assemble(site: Path, table_page: Path, compare_page: Path, selection: str, images: dict[str, str],
              title: str, run_count: int) -> str:
    from markupsafe import escape

    table_html = table_page.read_text(encoding="utf-8")
    compare_html = compare_page.read_text(encoding="utf-8")
    styles = "".join(_inline_style(table_page.parent / href) for href in _STYLESHEET.findall(table_html))
    # Both pages have a charts section; the compare script prunes "#charts", which must be its own.
    table_main = _MAIN.search(table_html).group(1).replace('id="charts"', 'id="experiment-charts"')
    # The compare view is already below, for every exported run; the CSV travels inside the file.
    table_main = _COMPARE_BUTTON.sub("", table_main).replace("data-runs-table ", "data-runs-table data-no-compare ")
    table_main = _CSV_HREF.sub(lambda m: _csv_data_uri(table_page.parent / m.group(1), m.group(0)), table_main)
    table_main = _relinked(table_main)
    table_main = table_main.replace("charts-heading", "experiment-charts-heading")
    compare_main = _relinked(_MAIN.search(compare_html).group(1))
    scripts, seen = [], set()
    # The selection is set before compare.js reads it: an attachment has no ?runs= in its address.
    scripts.append(f"<script>window.FLOWSHEET_COMPARE_SELECTION = {_js_string(selection)};</script>")
    for page, html in ((table_page, table_html), (compare_page, compare_html)):
        for src in _SCRIPT.findall(html):
            source = (page.parent / src).resolve()
            if source.name in seen and source.name not in ("runs-data.js",):
                continue
            if source.name == "runs-data.js" and page == compare_page:
                continue  # the compare page's copy of the table data would replace the table's own
            seen.add(source.name)
            text = source.read_text(encoding="utf-8")
            if source.name == "compare-data.js":
                for relative, uri in images.items():
                    text = text.replace(f'"{relative}"', f'"{uri}"')
            scripts.append(f"<script>\n{_script_safe(text)}\n</script>")
    return "\n".join([
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="generator" content="flowsheet export">',
        f"<title>{escape(title)}</title>",
        styles,
        "</head>",
        '<body class="page-export">',
        f'<header class="site-header"><span class="brand">{escape(title)}</span></header>',
        '<main id="main">',
        f'<p class="meta export-note">A flowsheet report of {run_count} run{"s" if run_count != 1 else ""}, '
        "in one file. Run names link to the full site made by <code>reporter build</code>.</p>",
        table_main,
        '<div class="export-compare">',
        compare_main,
        "</div>",
        "</main>",
        *scripts,
        "</body>",
        "</html>",
        "",
    ])


def _inline_style(path: Path) -> str:
    css = path.read_text(encoding="utf-8").replace("</", "<\\/")  # nothing may end the style element early
    return f"<style>\n{css}\n</style>\n"


def _relinked(html: str) -> str:
    """Links to other pages of the site lead nowhere in a single file: keep their text only."""
    return _INTERNAL_HREF.sub('<a', html)


def _csv_data_uri(path: Path, original: str) -> str:
    from urllib.parse import quote

    if not path.is_file():
        return original
    return f'href="data:text/csv;charset=utf-8,{quote(path.read_text(encoding="utf-8"))}"'


def _inline_images(site: Path, max_bytes: float) -> tuple[dict[str, str], int]:
    """Root-relative paths of the site's raster image artifacts (the compare view's), mapped to data: URIs
    (small enough ones only). SVG is not among them: the compare view shows no SVG (see image_views)."""
    images, left_out = {}, 0
    runs = site / "runs"
    for path in sorted(runs.glob("*/artifacts/**/*")) if runs.is_dir() else []:
        if not path.is_file() or path.suffix.lower() not in RASTER_TYPES:
            continue
        if path.stat().st_size > max_bytes:
            left_out += 1
            continue
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        images[path.relative_to(site).as_posix()] = f"data:{kind};base64,{encoded}"
    return images, left_out


def _script_safe(text: str) -> str:
    # Only "</script" can end a script element early; "<\/" means the same inside JS strings and regexes.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def _js_string(text: str) -> str:
    import json

    return json.dumps(text).replace("</", "<\\/")
