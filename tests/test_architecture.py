"""The shape docs/ARCHITECTURE.md describes: short import chains inside reporter/, and small modules."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_IMPORT_FLOORS = 8  # reporter/ had 10 before it was grouped by role
MAX_MODULE_LINES = 400


def reporter_modules() -> dict[str, Path]:
    modules = {}
    for path in (ROOT / "reporter").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """The reporter modules a file imports, at any depth of its code (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reporter"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("reporter"))
    return {name for name in found if name in modules}


def longest_chain(modules: dict[str, Path]) -> list[str]:
    edges = {name: imported(path, modules) - {name} for name, path in modules.items()}

    @functools.cache
    def chain(name: str) -> tuple[str, ...]:
        return (name, *max((chain(other) for other in edges[name]), key=len, default=()))

    return list(max((chain(name) for name in modules), key=len))


def test_import_chains_inside_the_reporter_stay_short():
    chain = longest_chain(reporter_modules())
    assert len(chain) <= MAX_IMPORT_FLOORS, " -> ".join(chain)


def test_no_module_passes_the_size_where_it_should_be_split():
    long = {path.relative_to(ROOT).as_posix(): n for folder in ("logger", "reporter")
            for path in (ROOT / folder).rglob("*.py") if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_every_command_that_makes_pages_takes_every_site_option():
    """Each option is spelled once (reporter/options.py): build, serve, publish and export all take them."""
    from click.testing import CliRunner

    from reporter.cli import main

    for command in ("build", "serve", "publish", "export"):
        shown = CliRunner().invoke(main, [command, "--help"]).output
        for option in ("--title", "--templates", "--max-artifact-mb", "--no-history-downloads", "--no-redact",
                       "--redact"):
            assert option in shown, f"reporter {command} lacks {option}"


def test_the_csv_writer_does_not_load_the_page_renderer():
    """Tables are data: writing runs.csv.gz must not pull in Jinja, Markdown or the HTML cleaner."""
    import subprocess
    import sys

    code = ("import sys, reporter.site.tables, reporter.site.downloads; "
            "print(sorted(m for m in ('jinja2', 'cmarkgfm', 'nh3') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
