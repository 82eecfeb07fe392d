"""log_image over steps, as MLflow 2.x writes it: images/<key>+step+<n>+timestamp+<ms>+<uuid>.png, a
compressed WebP beside it, the tag mlflow.loggedImages; the older log_image(image, artifact_file) unchanged."""

import re

import pytest
from ondisk import events_of

import logger

from reporter.site.image_names import series_entry

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

SERIES = re.compile(r"images/samples~val\+step\+(\d+)\+timestamp\+(\d+)\+[0-9a-f-]{36}(\+compressed\.webp|\.png)")


def artifact_files(run):
    return sorted(p.relative_to(run.artifact_dir).as_posix() for p in run.artifact_dir.rglob("*") if p.is_file())


def test_a_key_and_steps_write_mlflows_series_files(log_dir):
    with logger.start_run() as run:
        for step in (0, 3):
            logger.log_image(np.full((300, 600, 3), 40 * step, dtype="uint8"), key="samples/val", step=step,
                             timestamp=1_732_700_000_000 + step)
    files = artifact_files(run)
    assert len(files) == 4 and all(SERIES.fullmatch(f) for f in files)
    pngs = [f for f in files if f.endswith(".png")]
    assert sorted(int(SERIES.fullmatch(f)[1]) for f in pngs) == [0, 3]
    assert Image.open(run.artifact_dir / pngs[0]).size == (600, 300)
    webp = next(f for f in files if f.endswith(".webp"))
    assert Image.open(run.artifact_dir / webp).format == "WEBP"
    assert Image.open(run.artifact_dir / webp).size == (256, 128)  # MLflow's thumbnail: 256 on the longer side
    assert sorted(e["path"] for e in events_of(log_dir, run.info.run_id, "artifact")) == files
    tags = [(e["key"], e["value"]) for e in events_of(log_dir, run.info.run_id, "tag")]
    assert tags.count(("mlflow.loggedImages", "True")) == 1  # once, not per image
    # the site reads them back as one series
    entries = sorted((series_entry(f).key, series_entry(f).step) for f in pngs)
    assert entries == [("samples/val", 0), ("samples/val", 3)]


def test_step_defaults_to_zero(log_dir):
    with logger.start_run() as run:
        logger.log_image(np.zeros((2, 2), dtype="uint8"), key="mask")
    assert {series_entry(f).step for f in artifact_files(run)} == {0}


def test_the_artifact_file_form_still_writes_that_file(log_dir):
    with logger.start_run() as run:
        logger.log_image(np.zeros((4, 6, 3), dtype="uint8"), "plots/black.png")
    assert artifact_files(run) == ["plots/black.png"]
    assert Image.open(run.artifact_dir / "plots/black.png").size == (6, 4)


@pytest.mark.parametrize(("args", "kwargs"), [
    (("x.png",), {"key": "k"}), (("x.png",), {"step": 1}), ((), {}), ((), {"key": "bad+key"}),
    ((), {"key": "a\nb"}), ((), {"key": "k", "step": 1.5})])
def test_mixed_or_bad_arguments_are_refused_before_writing(log_dir, args, kwargs):
    with logger.start_run() as run, pytest.raises((TypeError, ValueError)):
        logger.log_image(np.zeros((2, 2), dtype="uint8"), *args, **kwargs)
    assert artifact_files(run) == []


def test_a_key_with_dots_and_slashes_stays_inside_the_images_folder(log_dir):
    with logger.start_run() as run:
        logger.log_image(np.zeros((2, 2), dtype="uint8"), key="../up", step=1)
    assert all(f.startswith("images/..~up+step+1+") for f in artifact_files(run))
