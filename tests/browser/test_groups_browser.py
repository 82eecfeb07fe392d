"""Seed groups in Chromium: the experiment page's runs table grouped by a param, its curves as means with a band,
and the grouped table as Markdown and LaTeX. Over file://, so every datum the page needs is inline."""

from __future__ import annotations

import math
import re

import pytest
from site_logs import T0, experiment, run

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

EXP = "seeds-5e5e5e5e"
LRS = (0.01, 0.1)
SEEDS = (0, 1, 2)
STEPS = (0, 1, 2, 3)


def loss_at(lr: float, seed: int, step: int) -> float:
    return round(1.0 / (1 + step) + lr * 3 + 0.013 * seed * (seed + 1) + 0.001 * step * seed, 6)


def accuracy_at(lr: float, seed: int, step: int) -> float:
    return round(0.5 + 0.1 * step - lr * 2 + 0.017 * seed * seed, 6)


def run_id(lr: float, seed: int) -> str:
    return f"{LRS.index(lr) + 1}{seed + 1}" * 16


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("groups")
    folder = experiment(root / "logs", EXP, "seeds")
    t = T0
    for lr in LRS:
        for seed in SEEDS:
            t += 10_000
            run(folder, run_id(lr, seed), f"lr{lr}-seed{seed}", t, params={"lr": lr, "seed": seed},
                metrics={"val_loss": [(s, loss_at(lr, seed, s)) for s in STEPS],
                         "accuracy": [(s, accuracy_at(lr, seed, s)) for s in STEPS]})
    build(BuildConfig.from_options(root / "logs", root / "site", environ={}))
    return root / "site"


def sig(x: float) -> str:
    """A number as groups.js writes a mean or a std: 4 significant digits, then the table's number format."""
    value = float(f"{x:.4g}")
    return str(int(value)) if value.is_integer() else repr(value)


def mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def expected(metric, lr: float) -> tuple[str, str]:
    """The mean and std text of the last logged values of the seeds of `lr`."""
    mean, std = mean_std([metric(lr, seed, STEPS[-1]) for seed in SEEDS])
    return sig(mean), sig(std)


@pytest.fixture
def page(chromium, site):
    context = chromium.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.errors = errors
    yield page
    context.close()


def open_page(page, site, hash_: str = ""):
    page.goto((site / "experiments" / EXP / "index.html").as_uri() + hash_)
    page.wait_for_function("window.FlowsheetTable && document.querySelector('[data-runs-table]')._table")


def group_by_lr(page):
    page.click(".group-chooser summary")
    page.check('[data-role=group-by] input[value="params.lr"]')
    page.wait_for_selector("tr.group-row")


def group_rows(page) -> dict[str, dict[str, str]]:
    """Group label -> {n, metric column id -> text}."""
    return page.evaluate("""() => {
      const out = {};
      document.querySelectorAll("table.runs tr.group-row").forEach(tr => {
        const row = {n: tr.querySelector("td.n").textContent};
        tr.querySelectorAll("td[data-col]").forEach(td => { row[td.dataset.col] = td.textContent; });
        out[tr.dataset.group] = row;
      });
      return out;
    }""")


def test_grouping_by_lr_shows_one_row_per_lr_with_mean_and_std(page, site):
    open_page(page, site)
    group_by_lr(page)
    rows = group_rows(page)
    assert sorted(rows) == ["lr=0.01", "lr=0.1"]
    for lr in LRS:
        row = rows[f"lr={lr}"]
        assert row["n"] == "3"
        for metric, column in ((loss_at, "metrics.val_loss"), (accuracy_at, "metrics.accuracy")):
            mean, std = expected(metric, lr)
            assert row[column] == f"{mean} ± {std}"
    assert "in 2 groups" in page.text_content("[data-role=status]")
    # a group opens to its runs
    page.click('tr[data-group="lr=0.1"] button.toggle')
    members = page.eval_on_selector_all("tr.group-member", "trs => trs.map(tr => tr.dataset.runId)")
    assert sorted(members) == sorted(run_id(0.1, seed) for seed in SEEDS)
    assert page.errors == []


def test_the_url_keeps_the_grouping_and_a_reload_restores_it(page, site):
    open_page(page, site)
    group_by_lr(page)
    page.select_option("[data-role=group-band]", "minmax")
    assert re.search(r"group=params\.lr", page.url) and "band=minmax" in page.url
    page.reload()
    page.wait_for_selector("tr.group-row")
    assert sorted(group_rows(page)) == ["lr=0.01", "lr=0.1"]
    assert page.is_checked('[data-role=group-by] input[value="params.lr"]')
    assert page.input_value("[data-role=group-band]") == "minmax"
    # no grouping: the runs again, and no group left in the URL
    page.click(".group-chooser summary")
    page.uncheck('[data-role=group-by] input[value="params.lr"]')
    page.wait_for_selector("tr.group-row", state="detached")
    assert page.locator("table.runs tbody tr[data-run-id]").count() == 6
    assert "group=" not in page.url


def chart_paths(page, spec_id: str) -> dict[str, int]:
    return page.evaluate("""id => {
      const el = document.querySelector('.fs-chart[data-spec-id="' + id + '"]');
      return {area: el.querySelectorAll("g.mark-area path").length, line: el.querySelectorAll("g.mark-line path").length};
    }""", spec_id)


def test_grouped_curves_draw_a_mean_line_and_a_band_per_group(page, site):
    open_page(page, site, "#group=params.lr")
    page.wait_for_selector("tr.group-row")
    page.evaluate("FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
    spec_id = page.get_attribute('.fs-chart[data-title="val_loss"]', "data-spec-id")
    page.wait_for_function("id => document.querySelector('.fs-chart[data-spec-id=\"' + id + '\"] g.mark-area path')",
                           arg=spec_id)
    assert chart_paths(page, spec_id) == {"area": 2, "line": 2}
    # the band follows the switch; ungrouped, one line per run again and no band
    page.select_option("[data-role=group-band]", "minmax")
    page.wait_for_function("id => document.querySelector('.fs-chart[data-spec-id=\"' + id + '\"] .role-title-subtitle')"
                           " .textContent.includes('min–max')", arg=spec_id)
    page.click(".group-chooser summary")
    page.uncheck('[data-role=group-by] input[value="params.lr"]')
    page.wait_for_function("id => !document.querySelector('.fs-chart[data-spec-id=\"' + id + '\"] g.mark-area path')",
                           arg=spec_id)
    assert chart_paths(page, spec_id) == {"area": 0, "line": 6}
    assert page.errors == []


def test_the_grouped_table_exports_as_markdown_and_latex_with_the_best_in_bold(page, site):
    open_page(page, site, "#group=params.lr")
    page.wait_for_selector("tr.group-row")
    best_loss = min(LRS, key=lambda lr: mean_std([loss_at(lr, s, STEPS[-1]) for s in SEEDS])[0])
    best_acc = max(LRS, key=lambda lr: mean_std([accuracy_at(lr, s, STEPS[-1]) for s in SEEDS])[0])
    text = page.locator("[data-role=group-export] textarea")

    page.click("[data-export=markdown]")
    markdown = text.input_value()
    lines = markdown.splitlines()
    assert lines[0] == "| lr | n | accuracy | val_loss |"
    for lr in LRS:
        loss_mean, loss_std = expected(loss_at, lr)
        acc_mean, acc_std = expected(accuracy_at, lr)
        loss = f"**{loss_mean}**" if lr == best_loss else loss_mean
        acc = f"**{acc_mean}**" if lr == best_acc else acc_mean
        assert f"| {lr} | 3 | {acc} ± {acc_std} | {loss} ± {loss_std} |" in lines
    assert markdown.count("**") == 4  # one best per metric column
    assert page.get_attribute("[data-role=group-export] a", "download") == "runs-grouped.md"

    page.click("[data-export=latex]")
    latex = text.input_value()
    assert latex.startswith("\\begin{tabular}{lrrr}")  # the group column, then n and the metrics
    assert "lr & n & accuracy & val\\_loss \\\\" in latex.splitlines()
    for lr in LRS:
        loss_mean, loss_std = expected(loss_at, lr)
        acc_mean, acc_std = expected(accuracy_at, lr)
        loss = f"\\textbf{{{loss_mean}}}" if lr == best_loss else loss_mean
        acc = f"\\textbf{{{acc_mean}}}" if lr == best_acc else acc_mean
        assert f"{lr} & 3 & {acc} $\\pm$ {acc_std} & {loss} $\\pm$ {loss_std} \\\\" in latex.splitlines()
    assert latex.count("\\textbf{") == 2
    assert page.get_attribute("[data-role=group-export] a", "download") == "runs-grouped.tex"
    assert page.errors == []


def test_grouped_curves_are_the_mean_and_std_of_each_groups_runs_at_every_step(page, site):
    open_page(page, site, "#group=params.lr")
    page.wait_for_selector("tr.group-row")
    spec_id = page.get_attribute('.fs-chart[data-title="val_loss"]', "data-spec-id")
    rows = page.evaluate("""id => FlowsheetGroups.curveSpec(JSON.parse(document.getElementById(id).textContent),
                                                            FlowsheetGroups.current).data.values""", spec_id)
    drawn = {(row["g"], row["s"]): row for row in rows}
    assert len(drawn) == len(rows) == len(LRS) * len(STEPS)
    for lr in LRS:
        for step in STEPS:
            mean, std = mean_std([loss_at(lr, seed, step) for seed in SEEDS])
            row = drawn[(f"lr={lr}", step)]
            assert row["n"] == len(SEEDS)
            assert row["mean"] == pytest.approx(mean, rel=1e-12)
            assert (row["lo"], row["hi"]) == pytest.approx((mean - std, mean + std), rel=1e-9)
    assert page.errors == []
