"""The site writer deletes and writes only its own files, inside OUT_DIR, whatever the logs or OUT_DIR hold.

Logs here are written by hand (docs/FORMAT.md), since the logger refuses names with line breaks:
hand-made or copied logs can still hold them. Each test plants the user's files (a GitHub Pages
CNAME, a `.git` folder, a folder outside OUT_DIR) and checks they keep their bytes across builds.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from logwriting import artifact, end, write_artifact, write_experiment, write_run

from reporter.config import BuildConfig
from reporter.site.build import build
from reporter.site.writer import MARKER, SiteError, SiteWriter

RUN = "a" * 32
GONE = "b" * 32
# Everything str.splitlines breaks a line at.
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def files(folder: Path) -> dict[str, bytes | str]:
    """Every entry under folder: file bytes, or where a link points."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


def write_logs(log_dir: Path, artifacts: dict[str, bytes], run_id: str = RUN) -> Path:
    exp = write_experiment(log_dir, "exp", "exp-00000001")
    for name, data in artifacts.items():
        write_artifact(exp / run_id, name, data)
    write_run(exp, run_id, [*(artifact(name, len(data)) for name, data in artifacts.items()), end()], name="r")
    return exp / run_id


@pytest.fixture
def place(tmp_path):
    """OUT_DIR, the log folder, and a sibling folder of the user's that no build may touch."""
    outside = tmp_path / "home"
    (outside / "docs").mkdir(parents=True)
    (outside / "docs" / "thesis.tex").write_bytes(b"\\begin{document}")
    (outside / "index.html").write_bytes(b"<p>my own page</p>")
    return tmp_path / "site", tmp_path / "logs", outside


def build_site(logs: Path, out: Path):
    return build(BuildConfig.from_options(logs, out, environ={}))


def plant_user_files(out: Path) -> dict[str, bytes | str]:
    (out / "CNAME").write_bytes(b"example.com\n")
    (out / ".git").mkdir()
    (out / ".git" / "config").write_bytes(b"[core]\n\tbare = false\n")
    (out / "docs").mkdir()
    (out / "docs" / "about.md").write_bytes(b"mine")
    return {name: files(out)[name] for name in ("CNAME", ".git/config", "docs/about.md")}


def kept(out: Path, planted: dict) -> bool:
    now = files(out)
    return all(now.get(name) == data for name, data in planted.items())


# --- problem 5: names with line breaks, and the manifest ----------------------------------------------


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=lambda c: "+".join(f"U+{ord(x):04X}" for x in c))
def test_artifact_names_with_line_breaks_never_delete_the_users_files(place, brk):
    out, logs, outside = place
    # Each name split at its break gives a path of the user's: "CNAME", ".git/config", "docs/about.md".
    run = write_logs(logs, {f"x{brk}CNAME": b"1", f"y{brk}.git/config": b"2", f"z{brk}docs/about.md": b"3",
                            "fine.txt": b"4"})
    build_site(logs, out)
    planted = plant_user_files(out)
    before = files(outside)
    build_site(logs, out)  # the same logs
    assert kept(out, planted)
    shutil.rmtree(run / "artifacts")  # the artifacts are gone: their copies are cleaned up
    result = build_site(logs, out)
    assert kept(out, planted)
    assert files(outside) == before
    assert not (out / "runs" / RUN / "artifacts").exists() and result.files_removed == 4  # exactly the copies


def test_the_manifest_is_one_json_document_that_keeps_odd_names_whole(place):
    out, logs, _ = place
    write_logs(logs, {"a\u2028b.txt": b"1", "c\nd.txt": b"2"})
    build_site(logs, out)
    manifest = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert f"runs/{RUN}/artifacts/a\u2028b.txt" in manifest["files"]
    assert f"runs/{RUN}/artifacts/c\nd.txt" in manifest["files"]
    assert "index.html" in manifest["files"] and isinstance(manifest["version"], int)


OLD_HEADER = "# written by `reporter build`; the files below are removed when they are no longer built\n"


def test_a_site_built_by_the_last_release_is_cleaned_up_without_touching_injected_names(place):
    out, logs, outside = place
    write_logs(logs, {"kept.txt": b"k"})
    stale = f"runs/{GONE}/index.html"
    (out / "runs" / GONE).mkdir(parents=True)
    (out / stale).write_bytes(b"old page")
    planted = plant_user_files(out)
    # What the last release wrote for an artifact named "x\nCNAME" (and friends): one path over two lines.
    old = [stale, f"runs/{GONE}/artifacts/x", "CNAME", f"runs/{GONE}/artifacts/y", ".git/config",
           f"runs/{GONE}/artifacts/z", "docs/about.md", f"runs/{GONE}/artifacts/u\u2028static/site.css", "index.html"]
    (out / MARKER).write_text(OLD_HEADER + "".join(line + "\n" for line in sorted(old)), encoding="utf-8")
    before = files(outside)
    build_site(logs, out)
    assert not (out / stale).exists() and not (out / "runs" / GONE).exists()  # the old build's file: cleaned up
    assert kept(out, planted)
    assert files(outside) == before
    assert json.loads((out / MARKER).read_text(encoding="utf-8"))["files"]  # rewritten in the new format


@pytest.mark.parametrize("manifest", [
    b'{"format": "flowsheet-site", "version": 99, "files": ["CNAME", "runs/bbb/index.html"]}',
    b'{"format": "flowsheet-site", "version": 2, "files": "runs/bbb/index.html"}',
    b'{"format": "flowsheet-site", "version": 2, "files": [["runs/bbb/index.html"]]}',
    b'{"format": "flowsheet-site", "version": 2, "files": ["runs/bbb/index.html"',
    b'["runs/bbb/index.html"]',
    b"\xff\xferuns/bbb/index.html\n",
    b"runs/bbb/index.html\nCNAME\n",  # lines, but not the old writer's (no header)
], ids=["unknown version", "files not a list", "not strings", "cut short", "not an object", "not UTF-8",
        "no header"])
def test_a_manifest_that_cannot_be_read_means_delete_nothing(place, manifest):
    out, logs, _ = place
    write_logs(logs, {"kept.txt": b"k"})
    build_site(logs, out)
    (out / "runs" / "bbb").mkdir()
    (out / "runs" / "bbb" / "index.html").write_bytes(b"not listed in a readable manifest")
    planted = plant_user_files(out)
    (out / MARKER).write_bytes(manifest)
    build_site(logs, out)
    assert (out / "runs" / "bbb" / "index.html").read_bytes() == b"not listed in a readable manifest"
    assert kept(out, planted)


def test_cleanup_never_deletes_hidden_files_even_when_listed(place):
    out, logs, _ = place
    write_logs(logs, {"kept.txt": b"k"})
    build_site(logs, out)
    planted = plant_user_files(out)
    (out / "static" / ".nojekyll").write_bytes(b"")
    listed = ["index.html", "static/.nojekyll", ".git/config", "runs/.git/config"]
    (out / "runs" / ".git").mkdir()
    (out / "runs" / ".git" / "config").write_bytes(b"[core]")
    (out / MARKER).write_text(OLD_HEADER + "".join(line + "\n" for line in listed), encoding="utf-8")
    build_site(logs, out)
    assert kept(out, planted)
    assert (out / "static" / ".nojekyll").exists() and (out / "runs" / ".git" / "config").exists()


# --- problem 7: symlinks inside OUT_DIR ----------------------------------------------------------------


def test_a_symlinked_folder_inside_the_site_is_refused_and_nothing_is_written_through_it(place):
    out, logs, outside = place
    write_logs(logs, {"report.txt": b"r"})
    build_site(logs, out)
    shutil.rmtree(out / "runs")
    os.symlink(outside, out / "runs")  # someone else made OUT_DIR/runs point into the user's home
    before = files(outside)
    with pytest.raises(SiteError, match="runs"):
        build_site(logs, out)
    assert files(outside) == before
    assert os.readlink(out / "runs") == str(outside)  # the link itself is left alone too


def test_cleanup_never_deletes_through_a_symlinked_folder(place):
    out, logs, outside = place
    write_logs(logs, {"report.txt": b"r"})
    write_logs(logs, {"notes.txt": b"n"}, run_id=GONE)
    build_site(logs, out)
    shutil.rmtree(logs / "exp-00000001" / GONE)  # the run is gone: its pages are cleaned up next build
    shutil.move(out / "runs" / GONE, outside / GONE)  # ... but its folder now links to look-alike files
    os.symlink(outside / GONE, out / "runs" / GONE)
    before = files(outside)
    build_site(logs, out)
    assert files(outside) == before


@pytest.mark.parametrize("relpath", ["static/site.css", "runs-data.js", f"runs/{RUN}/index.html",
                                     f"runs/{RUN}/artifacts/report.txt"])
def test_a_symlink_at_a_file_of_the_site_is_replaced_by_a_regular_file(place, relpath):
    out, logs, outside = place
    write_logs(logs, {"report.txt": b"r"})
    build_site(logs, out)
    site_file = out / relpath
    built = site_file.read_bytes()
    victim = outside / "victim"
    shutil.copy2(site_file, victim)  # the same bytes and time: a build might think the file unchanged
    site_file.unlink()
    os.symlink(victim, site_file)
    before = files(outside)
    build_site(logs, out)
    assert not site_file.is_symlink() and site_file.read_bytes() == built
    assert files(outside) == before


def test_a_stale_listed_symlink_is_not_the_writers_to_delete(place):
    out, logs, outside = place
    run = write_logs(logs, {"report.txt": b"r", "old.txt": b"o"})
    build_site(logs, out)
    (run / "artifacts" / "old.txt").unlink()
    copy = out / "runs" / RUN / "artifacts" / "old.txt"
    copy.unlink()
    os.symlink(outside / "index.html", copy)  # not the file the writer made: someone else's link
    build_site(logs, out)
    assert copy.is_symlink()
    assert (outside / "index.html").read_bytes() == b"<p>my own page</p>"


def test_a_symlinked_manifest_is_not_a_site_of_ours(place):
    out, logs, outside = place
    out.mkdir()
    (outside / "manifest").write_text(json.dumps({"format": "flowsheet-site", "version": 2,
                                                  "files": ["CNAME"]}), encoding="utf-8")
    os.symlink(outside / "manifest", out / MARKER)
    (out / "CNAME").write_bytes(b"example.com\n")
    write_logs(logs, {"report.txt": b"r"})
    with pytest.raises(SiteError, match="not empty"):
        build_site(logs, out)
    assert (out / "CNAME").read_bytes() == b"example.com\n"


def test_out_dir_itself_may_be_a_symlink_the_user_chose(place, tmp_path):
    out, logs, _ = place
    real = tmp_path / "real-site"
    real.mkdir()
    os.symlink(real, out)
    write_logs(logs, {"report.txt": b"r"})
    build_site(logs, out)
    build_site(logs, out)
    assert (real / "index.html").is_file() and (real / MARKER).is_file() and out.is_symlink()


def test_a_file_where_the_site_needs_a_folder_is_a_clear_error(tmp_path):
    writer = SiteWriter(tmp_path / "site")
    writer.open()
    (tmp_path / "site" / "runs").write_bytes(b"a file")
    with pytest.raises(SiteError, match="runs"):
        writer.write("runs/x/index.html", "x")
    assert (tmp_path / "site" / "runs").read_bytes() == b"a file"
