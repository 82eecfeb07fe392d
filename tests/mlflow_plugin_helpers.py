"""What the MLflow plugin's tests share: the run files checked against the format, and the site built from them."""

from __future__ import annotations

from pathlib import Path

import orjson
from bs4 import BeautifulSoup
from click.testing import CliRunner

from logger.format import RUN_FILE, RUN_KINDS

from reporter.cli import main


def run_lines(log_dir: Path) -> dict[str, list[dict]]:
    """Every run file's lines by run id, checked to be flowsheet's own format (docs/FORMAT.md)."""
    found = {}
    for path in sorted(log_dir.glob(f"*/*/{RUN_FILE}")):
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        assert lines[0]["kind"] == "start" and lines[0]["run_id"] == path.parent.name
        assert all(line["v"] == (2 if line["kind"] == "metrics" else 1) and line["kind"] in RUN_KINDS
                   and isinstance(line["t"], int) for line in lines)
        found[path.parent.name] = lines
    return found


def build_site(log_dir: Path, out: Path) -> Path:
    result = CliRunner().invoke(main, ["build", str(log_dir), "-o", str(out), "--strict"])
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output
    return out


def page(site: Path, *parts: str) -> BeautifulSoup:
    return BeautifulSoup(site.joinpath(*parts, "index.html").read_text(encoding="utf-8"), "html.parser")


def tables(run_page: BeautifulSoup) -> dict[str, dict[str, list[str]]]:
    """The run page's captioned tables (Parameters, Tags, Metrics) as {row header: cells}."""
    found = {}
    for table in run_page.find_all("table"):
        if table.caption and table.tbody:
            name = table.caption.get_text(" ", strip=True).split(" ·")[0]
            found[name] = {row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.find_all("td")]
                           for row in table.tbody.find_all("tr") if row.th}
    return found


def artifact_links(run_page: BeautifulSoup) -> set[str]:
    """The artifact paths the run page links to (a copy of an active type gets a `.download` suffix)."""
    return {a["href"].removeprefix("artifacts/").removesuffix(".download")
            for a in run_page.find_all("a", href=True) if a["href"].startswith("artifacts/")}
