"""Image names across runs: random parts folded into a pattern, MLflow's log_image(key=, step=) names read back."""

from __future__ import annotations

import pytest

from reporter.site.image_names import SeriesEntry, image_pattern, series_entry, series_images


@pytest.mark.parametrize(("path", "pattern"), [
    ("confusionmatrix-k2j4_x9.png", "confusionmatrix-*.png"),  # NamedTemporaryFile(prefix=..., suffix=".png")
    ("confusionmatrix-ab12cd.png", "confusionmatrix-*.png"),
    ("plots/confusionmatrix-qw_7yuio.png", "plots/confusionmatrix-*.png"),  # "_" inside the random part
    ("tmpk2j4x9zq.png", "tmp*.png"),  # NamedTemporaryFile() without a prefix
    ("roc_epoch_12.png", "roc_epoch_*.png"),
    ("pred-9f1c2d3e-1111-2222-3333-444455556666.jpg", "pred-*.jpg"),
    ("loss-deadbeefcafe.png", "loss-*.png"),
])
def test_random_parts_fold_to_a_star(path, pattern):
    assert image_pattern(path) == pattern


@pytest.mark.parametrize("path", ["plots/curve.png", "training_loss.png", "12345.png", "k2j4x9.png", "a/b/c"])
def test_names_without_random_parts_or_with_nothing_else_stay_as_they_are(path):
    assert image_pattern(path) == path


def test_the_run_id_in_a_name_is_folded():
    assert image_pattern("plots/cm-runabcdef.png", "runabcdef") == "plots/cm-*.png"


def test_mlflow_series_names_are_read_back_and_other_names_are_not():
    name = "images/samples~val+step+3+timestamp+1732700000000+0b8c1e0e-1c4f-4f43-9d8a-000000000000.png"
    assert series_entry(name) == SeriesEntry("samples/val", 3, 1732700000000, False)
    assert series_entry(name.replace(".png", "+compressed.webp")).compressed
    assert series_entry("images/plain.png") is None
    assert series_entry("other/" + name.split("/")[1]) is None


def test_series_take_the_full_image_and_the_latest_write_of_a_step():
    images = {"images/a+step+1+timestamp+5+u1.png": "full-1", "images/a+step+1+timestamp+5+u1+compressed.webp": "small-1",
              "images/a+step+1+timestamp+2+old.png": "older-1", "images/a+step+0+timestamp+3+u0+compressed.webp": "small-0",
              "x.png": "x"}
    plain, series = series_images(images)
    assert plain == {"x.png": "x"}
    assert series == {"a": [(0, "small-0"), (1, "full-1")]}
