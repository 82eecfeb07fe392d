import os
from pathlib import Path

import pytest
from ondisk import events_of

import logger


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "report.txt"
    path.write_text("hello")
    return path


def artifact_files(run):
    return sorted(p.relative_to(run.artifact_dir).as_posix() for p in run.artifact_dir.rglob("*") if p.is_file())


def test_log_artifact_into_a_folder(log_dir, source):
    with logger.start_run() as run:
        logger.log_artifact(source)
        logger.log_artifact(source, artifact_path="reports/daily")
    assert artifact_files(run) == ["report.txt", "reports/daily/report.txt"]
    recorded = [(e["path"], e["size"]) for e in events_of(log_dir, run.info.run_id, "artifact")]
    assert recorded == [("report.txt", 5), ("reports/daily/report.txt", 5)]


def test_log_artifacts_copies_a_tree(log_dir, tmp_path):
    tree = tmp_path / "outputs"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    with logger.start_run() as run:
        logger.log_artifacts(tree, artifact_path="out")
    assert artifact_files(run) == ["out/a.txt", "out/sub/b.txt"]


def test_log_text_and_log_dict(log_dir):
    with logger.start_run() as run:
        logger.log_text("résumé\n", "notes/readme.md")
        logger.log_dict({"a": 1, "b": [1, 2]}, "config.json")
        logger.log_dict({"a": 1}, "config.yaml")
    assert (run.artifact_dir / "notes/readme.md").read_text(encoding="utf-8") == "résumé\n"
    assert '"b": [\n' in (run.artifact_dir / "config.json").read_text()
    assert (run.artifact_dir / "config.yaml").read_text() == "a: 1\n"


def test_log_figure_saves_matplotlib_without_temp_files(log_dir):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    with logger.start_run() as run:
        logger.log_figure(figure, "plots/curve.png")
        logger.log_figure(figure, "plots/curve.svg")
    plt.close(figure)
    assert (run.artifact_dir / "plots/curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (run.artifact_dir / "plots/curve.svg").read_bytes()[:500]
    assert artifact_files(run) == ["plots/curve.png", "plots/curve.svg"]


def test_log_image_from_an_array(log_dir):
    np = pytest.importorskip("numpy")
    pytest.importorskip("PIL")
    with logger.start_run() as run:
        logger.log_image(np.zeros((4, 6, 3), dtype="uint8"), "images/black.png")
    from PIL import Image

    assert Image.open(run.artifact_dir / "images/black.png").size == (6, 4)


@pytest.mark.parametrize("bad", ["/etc", "../outside", "a/../../b", "C:\\temp", "C:/temp", "\\\\server\\share",
                                 "a/..", "x\x00y"])
def test_paths_leaving_the_run_are_refused_before_writing(log_dir, source, bad):
    with logger.start_run() as run:
        with pytest.raises(ValueError):
            logger.log_artifact(source, artifact_path=bad)
        with pytest.raises(ValueError):
            logger.log_text("x", bad + "/f.txt")
        with pytest.raises(ValueError):
            logger.log_dict({}, bad)
    assert artifact_files(run) == []
    assert events_of(log_dir, run.info.run_id, "artifact") == []
    assert not (log_dir.parent / "outside").exists()


def test_a_symlink_inside_artifacts_cannot_lead_out(log_dir, tmp_path, source):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with logger.start_run() as run:
        os.symlink(outside, run.artifact_dir / "link")
        with pytest.raises(ValueError, match="outside"):
            logger.log_artifact(source, artifact_path="link")
    assert list(outside.iterdir()) == []


def test_missing_source_file_raises(log_dir, tmp_path):
    with logger.start_run(), pytest.raises(FileNotFoundError):
        logger.log_artifact(tmp_path / "nope.txt")


# Every character str.splitlines breaks at, plus other controls: names carrying them could inject lines
# into whatever lists artifacts one per line (the site's manifest did) and cannot be typed or shown.
LINE_BREAKS_AND_CONTROLS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
                            "\t", "\x1b", "\x7f", "\x9b"]


@pytest.mark.parametrize("bad", LINE_BREAKS_AND_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_and_line_break_characters_in_names_are_refused_before_writing(log_dir, tmp_path, bad):
    named = tmp_path / "named"
    named.mkdir()
    badly_named = named / f"x{bad}CNAME"
    badly_named.write_text("x")
    tree = tmp_path / "tree"
    (tree / f"sub{bad}dir").mkdir(parents=True)
    (tree / "fine.txt").write_text("fine")
    (tree / f"sub{bad}dir" / "inner.txt").write_text("inner")
    source = tmp_path / "plain.txt"
    source.write_text("plain")
    code = f"U+{ord(bad):04X}"
    calls = {
        "log_artifact path": lambda: logger.log_artifact(source, artifact_path=f"a{bad}b"),
        "log_artifact file name": lambda: logger.log_artifact(badly_named),
        "log_artifacts path": lambda: logger.log_artifacts(tree, artifact_path=f"out{bad}put"),
        "log_artifacts file inside": lambda: logger.log_artifacts(tree),
        "log_text": lambda: logger.log_text("t", f"notes/x{bad}.git/config"),
        "log_dict": lambda: logger.log_dict({"a": 1}, f"c{bad}.json"),
        "log_figure": lambda: logger.log_figure(_Figure(), f"plot{bad}.png"),
        "log_image": lambda: logger.log_image(_pillow_image(), f"img{bad}.png"),
    }
    with logger.start_run() as run:
        for what, call in calls.items():
            with pytest.raises(ValueError) as refused:
                call()
            assert code in str(refused.value), what
    assert artifact_files(run) == []
    assert events_of(log_dir, run.info.run_id, "artifact") == []


class _Figure:
    """Stands in for a matplotlib figure: saving it would write a file."""

    def savefig(self, target, format=None):
        Path(target).write_bytes(b"figure")


def _pillow_image():
    image = pytest.importorskip("PIL.Image")
    return image.new("RGB", (2, 2))
