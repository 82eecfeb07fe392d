"""The site built from a small fixture log, compared file by file with tests/golden/site/.

When a change to the pages is intended, regenerate the golden site and review it with `git diff`:

    FLOWSHEET_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/reporter/test_golden.py

`static/` is left out (copies of reporter/static and of vl-convert's Vega bundle), and so are the marker
(it lists static/ too) and the build cache (file times); test_build.py and test_build_cache.py cover them.
The `.gz` downloads are compared by what they hold (`zcat` shows it): another zlib may pack the same text
into other bytes.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from site_logs import write_site_logs

from reporter.config import BuildConfig
from reporter.site.build import build
from reporter.site.cache import CACHE_NAME
from reporter.site.writer import MARKER

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "site"
SKIPPED = ("static/", MARKER, CACHE_NAME)


def site_files(folder: Path) -> dict[str, bytes]:
    """Each file's bytes by path; a .gz file's after decompressing."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relpath = path.relative_to(folder).as_posix()
        if path.is_file() and not relpath.startswith(SKIPPED):
            data = path.read_bytes()
            files[relpath] = gzip.decompress(data) if relpath.endswith(".gz") else data
    return files


def test_site_matches_the_golden_copy(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    out = tmp_path / "site"
    build(BuildConfig.from_options(logs, out, environ={}))
    built = site_files(out)
    if os.environ.get("FLOWSHEET_REGEN_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for relpath in built:
            target = GOLDEN / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((out / relpath).read_bytes())
    golden = site_files(GOLDEN)
    assert sorted(built) == sorted(golden), "files differ; regenerate as the module docstring says if intended"
    for relpath in built:
        assert built[relpath] == golden[relpath], f"{relpath} differs from tests/golden/site/{relpath}"
