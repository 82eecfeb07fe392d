"""Artifacts kept inside a log file (`Artifact.blob`, e.g. images in TensorBoard event files): the site
copies exactly their bytes, previews them like files, and reads nothing outside the log directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from logger.model import Artifact, MetricHistory, Run
from logger.sources import Claim, register, unregister
from logger.sources.units import UnitRead, UnitSource, run_id_for

from reporter.cli import main

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b2f0a60000000049454e44ae426082")
TEXT = b"hello from inside a container\n"


class BoxSource(UnitSource):
    """`*.box` files: a header line `offset length name` per blob, then the bytes. One run per file."""

    name = "box"
    order = 60

    @classmethod
    def claim(cls, listing):
        found = [listing.path / name for name in sorted(listing.regular) if name.endswith(".box")]
        return Claim(found) if found else None

    def read_unit(self, unit: Path) -> UnitRead:
        run = Run(run_id_for(self.name, self.rel(unit)), "", unit.stem, str(unit), source=self.name)
        run.metrics["x"] = MetricHistory("x")
        run.metrics["x"].append(1.0, 0, 0)
        header = unit.read_bytes().split(b"\n", 1)[0].decode()
        for entry in header.split(";"):
            offset, length, name = entry.split()
            run.artifacts.append(Artifact(name, int(length), blob=(str(unit), int(offset), int(length))))
        return UnitRead([run])


def write_box(path: Path, blobs: dict[str, bytes], lie: dict[str, tuple[int, int]] | None = None) -> None:
    names = list(blobs)
    header_len = 200
    entries, body, offset = [], b"", header_len
    for name in names:
        start, length = (lie or {}).get(name, (offset, len(blobs[name])))
        entries.append(f"{start} {length} {name}")
        body += blobs[name]
        offset += len(blobs[name])
    header = ";".join(entries).encode().ljust(header_len - 1) + b"\n"
    path.write_bytes(header + body)


@pytest.fixture
def box_source():
    register(BoxSource)
    yield BoxSource
    unregister(BoxSource)


def build(log_dir: Path, out: Path) -> str:
    result = CliRunner().invoke(main, ["build", str(log_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def run_folder(out: Path) -> Path:
    folders = [p.parent for p in (out / "runs").glob("*/index.html")]
    assert len(folders) == 1
    return folders[0]


def test_blob_artifacts_are_copied_byte_for_byte_and_previewed(tmp_path, box_source):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_box(logs / "train.box", {"images/loss/step-3.png": PNG, "notes.txt": TEXT})
    out = tmp_path / "site"
    output = build(logs, out)
    assert "1 box" in output  # the read line names the format
    folder = run_folder(out)
    assert (folder / "artifacts/images/loss/step-3.png").read_bytes() == PNG
    assert (folder / "artifacts/notes.txt").read_bytes() == TEXT
    page = (folder / "index.html").read_text()
    assert 'src="artifacts/images/loss/step-3.png"' in page  # shown as an image
    assert "hello from inside a container" in page  # a text blob is previewed like a text file


def test_a_blob_that_runs_past_its_file_is_reported_not_read(tmp_path, box_source):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_box(logs / "train.box", {"a.png": PNG, "b.txt": TEXT}, lie={"b.txt": (190, 10_000)})
    out = tmp_path / "site"
    build(logs, out)
    folder = run_folder(out)
    assert (folder / "artifacts/a.png").read_bytes() == PNG
    assert not (folder / "artifacts/b.txt").exists()
    assert "not found in the log directory" in (folder / "index.html").read_text()


def test_a_blob_in_a_file_outside_the_log_directory_is_not_read(tmp_path, box_source):
    logs = tmp_path / "logs"
    logs.mkdir()
    secret = tmp_path / "secret.box"
    write_box(secret, {"leak.txt": b"the secret\n"})
    os.symlink(secret, logs / "link.box")  # not claimed: a link is not a regular file
    write_box(logs / "own.box", {"leak.txt": b"the secret\n"})  # its blob is pointed through the link below
    out = tmp_path / "site"

    class Outside(BoxSource):
        name = "outside"

        def read_unit(self, unit):
            read = super().read_unit(unit)
            for run in read.runs:
                run.artifacts = [Artifact(a.path, a.size, blob=(str(logs / "link.box"), *a.blob[1:]))
                                 for a in run.artifacts]
            return read

    unregister(BoxSource)
    register(Outside)
    try:
        build(logs, out)
    finally:
        unregister(Outside)
    folder = run_folder(out)
    assert not (folder / "artifacts/leak.txt").exists()
    assert "the secret" not in (folder / "index.html").read_text()


def test_one_log_file_named_alone_builds_with_the_site_beside_it(tmp_path, box_source):
    write_box(tmp_path / "train.box", {"a.png": PNG})
    write_box(tmp_path / "other.box", {"b.png": PNG})
    out = tmp_path / "site"  # beside the file, inside its folder: allowed, the file is the logs
    output = build(tmp_path / "train.box", out)
    assert "Read 1 run(s): 1 box" in output
    assert (run_folder(out) / "artifacts/a.png").read_bytes() == PNG
