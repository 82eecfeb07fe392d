"""`reporter build s3://...` against a real S3-compatible server: a local copy synced by byte ranges."""

from __future__ import annotations

import os
from pathlib import Path

import fsspec
import orjson
import pytest
from site_logs import write_site_logs

from logger.mirror import mirror_home, refused, sync
from logger.reader import read_logs

from reporter.commands.build import run_build
from reporter.site.cache import CACHE_NAME


def _upload(local: Path, bucket: str, prefix: str = "runs") -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        fs.pipe(f"{bucket}/{prefix}/{path.relative_to(local).as_posix()}", path.read_bytes())


def _site_files(folder: Path) -> dict[str, bytes]:
    """The site's files; not the build cache, which names the log folder it was built from."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != CACHE_NAME}


def _line(record: dict) -> bytes:
    return orjson.dumps({"v": 1, **record}) + b"\n"


def test_a_site_built_from_s3_is_the_site_built_from_the_local_logs(s3, tmp_path):
    local = write_site_logs(tmp_path / "logs")
    _upload(local, s3)
    assert run_build(str(local), str(tmp_path / "from-disk"), quiet=True) == 0
    assert run_build(f"s3://{s3}/runs", str(tmp_path / "from-s3"), quiet=True) == 0
    from_disk, from_s3 = _site_files(tmp_path / "from-disk"), _site_files(tmp_path / "from-s3")
    assert len(from_s3) > 20 and from_s3.keys() == from_disk.keys()
    mirror = str(mirror_home(f"s3://{s3}/runs") / "tree")
    differ = [name for name in from_s3 if from_s3[name] != from_disk[name].replace(str(local).encode(),
                                                                                   mirror.encode())]
    assert differ == []


def test_a_second_sync_fetches_only_a_new_segment_object(s3, s3_server, tmp_path):
    local = write_site_logs(tmp_path / "logs")
    _upload(local, s3)
    url = f"s3://{s3}/runs"
    first = sync(url)
    total = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
    assert first.fetched_bytes == total and first.problems == []
    run_folder = next(p.parent for p in local.rglob("run.jsonl"))
    key = f"runs/{run_folder.relative_to(local).as_posix()}/run@node2-77.000001.jsonl"
    piece = _line({"kind": "metric", "t": 2_000_000_000_000, "key": "late", "value": 1.5, "step": 9})
    fsspec.filesystem("s3", skip_instance_cache=True).pipe(f"{s3}/{key}", piece)
    s3_server.traffic.reset()
    second = sync(url)
    assert (second.fetched_objects, second.fetched_bytes) == (1, len(piece))
    # What went over the wire: the listing, and one GET of the new object, nothing of the old ones.
    assert [(path, size) for path, _, size in s3_server.traffic.object_gets] == [(f"/{s3}/{key}", len(piece))]
    s3_server.traffic.reset()
    assert sync(url).fetched_bytes == 0 and s3_server.traffic.object_gets == []
    run = read_logs(second.path).runs[run_folder.name]
    assert run.metrics["late"].values.tolist() == [1.5]


def test_an_object_that_grew_is_fetched_from_where_the_copy_ends(s3, s3_server):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    head = b"".join(_line({"kind": "metric", "t": 1000 + i, "key": "m", "value": i, "step": i}) for i in range(50))
    fs.pipe(f"{s3}/runs/e/r/run@w.jsonl", head)  # an append blob, as Azure's: the same object, longer
    url = f"s3://{s3}/runs"
    sync(url)
    more = _line({"kind": "metric", "t": 2000, "key": "m", "value": 50, "step": 50})
    fs.pipe(f"{s3}/runs/e/r/run@w.jsonl", head + more)
    s3_server.traffic.reset()
    synced = sync(url)
    assert synced.fetched_bytes == 64 + len(more) and synced.problems == []  # 64: the check that it only grew
    [(_, ranged, _)] = s3_server.traffic.object_gets
    assert ranged == f"bytes={len(head) - 64}-{len(head) + len(more) - 1}"
    assert (synced.path / "e" / "r" / "run@w.jsonl").read_bytes() == head + more
    # Rewritten earlier bytes: reported, and the copy keeps what it had.
    fs.pipe(f"{s3}/runs/e/r/run@w.jsonl", head + more[:-20] + b" " * 19 + b"\n" + more)
    synced = sync(url)
    assert [p.reason for p in synced.problems] == ["object's earlier bytes changed: objects are append-only; "
                                                   "the copy keeps the earlier bytes"]
    assert (synced.path / "e" / "r" / "run@w.jsonl").read_bytes() == head + more


@pytest.mark.parametrize("key", ["../../evil.jsonl", "e/../../../evil.jsonl", "e//evil.jsonl", "e\\..\\evil.jsonl",
                                 "e/./evil.jsonl", "e/bad\x01name.jsonl"])
def test_hostile_keys_are_refused_by_name(s3, tmp_path, key):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.pipe(f"{s3}/runs/{key}", b"{}\n")
    fs.pipe(f"{s3}/runs/e/fine.jsonl", b'{"step": 1, "loss": 0.5}\n')
    synced = sync(f"s3://{s3}/runs")
    assert [(p.file, p.reason) for p in synced.problems] == [(key, f"object refused: {refused(key)}")]
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert [name for name in written if "evil" in name or "bad" in name] == []
    assert (synced.path / "e" / "fine.jsonl").is_file()


def test_links_in_the_copy_are_not_followed_and_key_clashes_are_refused(s3, tmp_path):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.pipe(f"{s3}/runs/a/one.jsonl", b"{}\n")
    url = f"s3://{s3}/runs"
    tree = sync(url).path
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tree / "b")  # planted in the cache by someone else
    fs.pipe(f"{s3}/runs/b/two.jsonl", b"{}\n")
    fs.pipe(f"{s3}/runs/a/one.jsonl/three.jsonl", b"{}\n")  # a key running through an object
    synced = sync(url)
    assert sorted(p.file for p in synced.problems) == ["a/one.jsonl/three.jsonl", "b/two.jsonl"]
    assert list(outside.iterdir()) == []


def test_an_unreachable_storage_is_one_line_and_exit_code_2(s3, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert run_build(f"s3://{s3}/runs", str(tmp_path / "site")) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"reporter build: cannot read s3://{s3}/runs") and error.count("\n") == 1
    assert not (tmp_path / "site").exists()


def test_build_reads_flowsheet_dir_when_it_is_a_url(s3, tmp_path, monkeypatch):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.pipe(f"{s3}/runs/e1/r1/run@a.000000000000.jsonl", _line(
        {"kind": "start", "t": 10, "run_id": "r1", "experiment_id": "e1", "name": "from-env", "system": {}}))
    monkeypatch.setenv("FLOWSHEET_DIR", f"s3://{s3}/runs")
    assert run_build(None, str(tmp_path / "site"), quiet=True) == 0
    assert "from-env" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("first, second", [("e/r/artifacts/Plot.txt", "e/r/artifacts/plot.txt"),
                                           ("e/r/artifacts/caf\u00e9.txt", "e/r/artifacts/cafe\u0301.txt")])
def test_keys_one_file_on_a_case_insensitive_disk_are_refused_but_the_first(s3, first, second):
    """On macOS or Windows the second would overwrite the first's copy: refused on every disk, the same way."""
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.pipe(f"{s3}/runs/{first}", b"first\n")
    url = f"s3://{s3}/runs"
    assert sync(url).problems == []
    fs.pipe(f"{s3}/runs/{second}", b"second\n")  # uploaded later (the decomposed name even sorts first)
    synced = sync(url)
    assert [p.file for p in synced.problems] == [second] and "only in case" in synced.problems[0].reason
    assert (synced.path / first).read_bytes() == b"first\n"
