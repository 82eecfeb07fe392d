"""Regenerate sample_runs/ with the logger itself: `make samples` (fixed seed; ids and times differ per run).

    python sample_runs/generate.py [OUT_DIR]     (default: this folder)

- houses:   the classic walkthrough: is a house on the waterfront? Logistic regression, naive then lasso
            and ridge, and a sweep over C as nested runs; confusion matrices, models, notes.
- training: long training curves, with one FAILED run and one left unfinished by a crash.
- legacy-scripts: a flat JSONL log of the kind training scripts write by hand.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


class SimulatedClock:
    """The samples pretend to have trained for hours: the logger's clock is this one while they are made.

    Each reading moves it on by a millisecond, and `advance` jumps ahead, so times are realistic and
    the same on every regeneration."""

    def __init__(self, start: float):
        self.now = start

    def time(self) -> float:
        self.now += 0.001
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


CLOCK = SimulatedClock(1_795_251_600.0)  # 2026-11-21 09:00 UTC
time.time = CLOCK.time  # before the logger is imported, so its cached reference is this one too

import logger  # noqa: E402

SEED = 20261127
FEATURES = ["bedrooms", "bathrooms", "sqft_living", "sqft_lot", "floors", "view", "condition", "grade",
            "sqft_above", "sqft_basement", "yr_built", "lat", "long", "sqft_living15", "price"]

HOUSES_NOTES = """# Waterfront or not?

A walkthrough of experiment tracking on a housing table shaped like the King County (Seattle)
sales data: 21,613 sales in the original, here **4,000 synthetic rows** with the same columns.

The question: *from price, size, view and location, can we tell whether a house is on the waterfront?*
Only about 7% are, so accuracy is useless and we track **F1** and the confusion counts.

1. `naive-backwards`: logistic regression on every raw feature, no scaling.
2. `lasso` (l1) and `ridge` (l2) on standardised features.
3. `sweep-C`: ridge over C = 0.01 ... 100, one nested run per value.

Compare the sweep's children to see how little C matters once the features are scaled.
"""


def clean_previous(out: Path) -> None:
    """Remove what an earlier run of this script wrote, and nothing else."""
    for child in out.iterdir():
        if child.is_dir() and ((child / "experiment.jsonl").exists() or child.name == "legacy-scripts"):
            shutil.rmtree(child)


def housing_table(rng: np.random.Generator, rows: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    sqft = rng.lognormal(7.55, 0.42, rows)
    view = np.clip(rng.poisson(0.25, rows), 0, 4)
    lat = rng.normal(47.56, 0.14, rows)
    long = rng.normal(-122.21, 0.14, rows)
    grade = np.clip(np.round(7 + (np.log(sqft) - 7.55) * 3 + rng.normal(0, 0.8, rows)), 3, 13)
    near_water = 2.2 * view + 3.0 * (np.abs(long + 122.25) < 0.05) + rng.normal(0, 1.2, rows)
    waterfront = (near_water > np.quantile(near_water, 0.93)).astype(int)
    price = np.exp(12.2 + 0.65 * (np.log(sqft) - 7.55) + 0.12 * (grade - 7) + 0.55 * waterfront
                   + 0.08 * view + rng.normal(0, 0.22, rows))
    basement = np.where(rng.random(rows) < 0.4, sqft * rng.uniform(0.1, 0.4, rows), 0)
    table = np.column_stack([
        np.clip(np.round(sqft / 650 + rng.normal(0, 0.7, rows)), 1, 9),  # bedrooms
        np.clip(np.round((sqft / 900 + rng.normal(0, 0.4, rows)) * 4) / 4, 0.75, 6),  # bathrooms
        sqft, rng.lognormal(8.9, 0.8, rows), rng.choice([1, 1.5, 2, 3], rows, p=[0.5, 0.1, 0.37, 0.03]),
        view, rng.choice([1, 2, 3, 4, 5], rows, p=[0.01, 0.01, 0.65, 0.26, 0.07]), grade,
        sqft - basement, basement, rng.integers(1900, 2015, rows), lat, long,
        sqft * rng.normal(1.0, 0.15, rows), price,
    ])
    return table, waterfront


def confusion_figure(counts: np.ndarray, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3.6, 3.0), dpi=80)
    try:
        import seaborn

        seaborn.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=axes,
                        xticklabels=["land", "water"], yticklabels=["land", "water"])
    except ImportError:  # seaborn is optional: the same picture with matplotlib alone
        axes.imshow(counts, cmap="Blues")
        for (row, column), value in np.ndenumerate(counts):
            axes.text(column, row, str(value), ha="center", va="center")
        axes.set_xticks([0, 1], ["land", "water"])
        axes.set_yticks([0, 1], ["land", "water"])
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def houses(rng: np.random.Generator) -> None:
    CLOCK.advance(600)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table, waterfront = housing_table(rng)
    train_x, test_x, train_y, test_y = train_test_split(table, waterfront, test_size=0.3, random_state=SEED % 1000,
                                                        stratify=waterfront)
    experiment = logger.set_experiment("houses")
    logger.set_experiment_tags({"mlflow.note.content": HOUSES_NOTES, "dataset": "king-county-synthetic",
                                "task": "binary classification"})
    (Path(experiment.path) / "notes.md").write_text(
        "## Lab notebook\n\n- The naive model predicts *land* for almost everything: F1 is the honest score.\n"
        "- Next: try class weights, and a gradient-boosted baseline.\n", encoding="utf-8")

    def fit_and_log(name, params, scaled=True, nested=False):
        with logger.start_run(run_name=name, nested=nested,
                              tags={"model_family": "logistic-regression", "scaled": str(scaled).lower()}):
            logger.log_params(params)
            logger.log_param("features", len(FEATURES))
            estimator = LogisticRegression(random_state=0, **params)
            model = make_pipeline(StandardScaler(), estimator) if scaled else estimator
            model.fit(train_x, train_y)
            CLOCK.advance(4 + 40 * rng.random())  # as long as a fit on the full table would take
            predicted = model.predict(test_x)
            counts = confusion_matrix(test_y, predicted, labels=[0, 1])
            (tn, fp), (fn, tp) = counts
            logger.log_metrics({"f1": f1_score(test_y, predicted, zero_division=0), "true_negatives": int(tn),
                                "false_positives": int(fp), "false_negatives": int(fn), "true_positives": int(tp),
                                "accuracy": float((tn + tp) / counts.sum())})
            figure = confusion_figure(counts, name)
            logger.log_figure(figure, "confusion_matrix.png")
            import matplotlib.pyplot as plt

            plt.close(figure)
            logger.log_dict({"features": FEATURES, "test_rows": len(test_y)}, "data/features.json")
            logger.sklearn.log_model(model, "model")

    fit_and_log("naive-backwards", {"penalty": None, "solver": "lbfgs", "max_iter": 100, "C": 1.0}, scaled=False)
    fit_and_log("lasso", {"penalty": "l1", "solver": "liblinear", "max_iter": 200, "C": 0.5})
    fit_and_log("ridge", {"penalty": "l2", "solver": "lbfgs", "max_iter": 200, "C": 0.5})
    with logger.start_run(run_name="sweep-C", description="Ridge over C, one child run per value.",
                          tags={"model_family": "logistic-regression", "kind": "sweep"}):
        logger.log_param("grid", "0.01,0.1,1,10,100")
        for c in (0.01, 0.1, 1.0, 10.0, 100.0):
            fit_and_log(f"ridge-C{c:g}", {"penalty": "l2", "solver": "lbfgs", "max_iter": 200, "C": c}, nested=True)


def curve(rng, steps, start, floor, rate, noise):
    step = np.arange(steps)
    smooth = floor + (start - floor) * np.exp(-rate * step)
    return smooth * (1 + rng.normal(0, noise, steps))


def training(rng: np.random.Generator, out: Path) -> None:
    logger.set_experiment("training")
    logger.set_experiment_tag("mlflow.note.content",
                              "Small CNN on a synthetic image task: train/val curves over 2,000 steps, "
                              "a cosine learning-rate schedule, and what a diverging run looks like.")
    configs = [("baseline", 3e-3, 64, 2000, None), ("wide-lr", 1e-2, 64, 2000, None),
               ("big-batch", 3e-3, 256, 2000, None), ("diverged", 5e-2, 64, 800, "diverged")]
    for index, (name, lr, batch, steps, failure) in enumerate(configs):
        run = logger.start_run(run_name=name, tags={"optimizer": "adamw", "dataset": "shapes-10k"})
        logger.log_params({"learning_rate": lr, "batch_size": batch, "epochs": 20, "optimizer": "adamw",
                           "weight_decay": 0.01, "architecture": "cnn-4x64"})
        rate = 0.002 * (lr / 3e-3) ** 0.5
        train = curve(rng, steps, 2.3, 0.12 + 0.05 * index, rate, 0.06)
        val = curve(rng, steps, 2.3, 0.25 + 0.04 * index, rate * 0.8, 0.03)
        if failure:  # the loss blows up after a few hundred steps
            blow = np.arange(steps) > 500
            train[blow] *= np.exp((np.arange(steps)[blow] - 500) / 60)
            val[blow] *= np.exp((np.arange(steps)[blow] - 500) / 50)
        CLOCK.advance(1200)
        for step in range(steps):
            CLOCK.advance(0.45)
            cosine = lr * 0.5 * (1 + math.cos(math.pi * step / 2000))
            logger.log_metrics({"train/loss": float(train[step]), "train/lr": cosine}, step=step)
            if step % 10 == 0:
                accuracy = float(np.clip(1 - val[step] / 2.6 + rng.normal(0, 0.01), 0, 1))
                logger.log_metrics({"val/loss": float(val[step]), "val/accuracy": accuracy}, step=step)
        if failure:
            logger.set_tag("failure", "loss is NaN after step 780")
            logger.log_metric("train/loss", float("nan"), step=steps)
            logger.end_run("FAILED")
        else:
            run.end()
    crash_mid_run(out)


def crash_mid_run(out: Path) -> None:
    """A run whose process died without ending it: the site shows it RUNNING, then UNFINISHED."""
    code = f"""
import os, signal, sys, time
sys.path.insert(0, {str(HERE.parent)!r})
start = {CLOCK.now + 900!r}
time.time = lambda: start
import logger
logger.set_log_dir({str(out)!r})
logger.set_experiment("training")
logger.start_run(run_name="preempted", tags={{"optimizer": "adamw", "note": "node was preempted"}})
logger.log_params({{"learning_rate": 0.003, "batch_size": 128, "epochs": 20, "optimizer": "adamw"}})
for step in range(1200):
    logger.log_metric("train/loss", 2.3 * 0.999 ** step + 0.15, step=step, timestamp=int((start + step * 0.45) * 1000))
logger.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""
    subprocess.run([sys.executable, "-c", code], check=False)


def legacy_log(rng: np.random.Generator, out: Path) -> None:
    folder = out / "legacy-scripts"
    folder.mkdir(exist_ok=True)
    loss = curve(rng, 300, 1.9, 0.3, 0.012, 0.05)
    with open(folder / "resnet18_train.jsonl", "w", encoding="utf-8") as file:
        for epoch in range(300):
            file.write(json.dumps({"epoch": epoch, "loss": round(float(loss[epoch]), 5),
                                   "top1": round(float(min(0.95, 0.2 + 0.75 * (1 - loss[epoch] / 1.9))), 5),
                                   "timestamp": int(CLOCK.now) + 3600 + epoch * 30}) + "\n")


def main() -> None:
    out = Path(sys.argv[1]).absolute() if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    os.environ.pop("FLOWSHEET_DIR", None)
    warnings.filterwarnings("ignore", category=FutureWarning)  # sklearn 1.8+ on `penalty`
    warnings.filterwarnings("ignore", message=".*(failed to converge|Inconsistent values).*")
    clean_previous(out)
    logger.set_log_dir(out)
    rng = np.random.default_rng(SEED)
    houses(rng)
    training(rng, out)
    legacy_log(rng, out)
    logger.flush()
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {size / 1e6:.1f} MB of sample runs")


if __name__ == "__main__":
    main()
