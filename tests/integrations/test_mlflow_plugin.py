"""MLflow itself, pointed at `flowsheet:<folder>`, writes flowsheet logs that the reader and the site show.

The real MLflow (fluent API, MlflowClient, sklearn autolog) talks to logger/mlflow_plugin/ in this process;
test_mlflow_plugin_script.py runs an unchanged script in another one, through the entry point.
"""

from __future__ import annotations

import json

import pytest

mlflow = pytest.importorskip("mlflow")

from helpers import ENV_NAMES  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow_plugin_helpers import artifact_links, build_site, page, run_lines, tables  # noqa: E402
from ondisk import points_of  # noqa: E402

from logger import experiments  # noqa: E402
from logger.mlflow_plugin import log_dir_from_uri  # noqa: E402
from logger.mlflow_plugin.store import FlowsheetStore  # noqa: E402
from logger.reader import LogProblemWarning, read_logs  # noqa: E402


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """MLflow writing to tmp_path/runs through the flowsheet store; MLflow's global state reset after."""
    import logger.mlflow_plugin  # noqa: F401  (registers the store, as the installed entry point does)

    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    log_dir = tmp_path / "runs"
    mlflow.set_tracking_uri(f"flowsheet:{log_dir}")
    yield log_dir
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None  # set_experiment's choice is MLflow-global
    mlflow.set_tracking_uri(None)


def by_name(data) -> dict:
    return {run.name: run for run in data.runs.values()}


def points(run, key) -> list[tuple[int, float]]:
    history = run.metrics[key]
    return list(zip(history.steps, history.values))


# ---------------------------------------------------------------- the URI


@pytest.mark.parametrize("uri, expected", [
    ("flowsheet:./runs", "{cwd}/runs"), ("flowsheet:runs", "{cwd}/runs"), ("flowsheet:///abs/logs", "/abs/logs"),
    ("flowsheet://localhost/abs/my%20logs", "/abs/my logs"), ("flowsheet:/abs/logs", "/abs/logs"),
    ("flowsheet:", "{cwd}/from-env"),
])
def test_every_uri_form_names_a_folder(uri, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWSHEET_DIR", "from-env")
    assert str(log_dir_from_uri(uri)) == expected.format(cwd=tmp_path)


@pytest.mark.parametrize("uri", ["flowsheet://server/runs", "file:///tmp/runs", "flowsheet:///runs?x=1"])
def test_a_uri_that_names_no_local_folder_is_refused(uri):
    with pytest.raises(ValueError):
        log_dir_from_uri(uri)


def test_mlflow_builds_the_store_for_a_relative_uri(tracking, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri("flowsheet:relative-runs")
    with mlflow.start_run(run_name="here"):
        mlflow.log_metric("m", 1.0)
    assert {run.name for run in read_logs(tmp_path / "relative-runs").runs.values()} == {"here"}


# ---------------------------------------------------------------- a script on MLflow's fluent API


def test_a_fluent_script_writes_runs_the_reader_reads_back(tracking, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (tmp_path / "config.yaml").write_text("lr: 0.01\n")
    mlflow.set_experiment("houses")
    with mlflow.start_run(run_name="parent", description="grid over *alpha*") as parent:
        mlflow.log_params({"model": "ridge", "folds": 3})
        mlflow.set_tags({"stage": "dev"})
        for step in range(4):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"rmse": 2.5, "mae": 1.5}, step=3, synchronous=False)  # MLflow's async queue
        mlflow.log_artifact(str(tmp_path / "config.yaml"), artifact_path="configs")
        mlflow.log_dict({"alpha": [0.1, 1.0]}, "grid.json")
        mlflow.log_text("done", "notes/summary.txt")
        figure, axes = plt.subplots()
        axes.plot([1, 2, 3])
        mlflow.log_figure(figure, "plots/curve.png")
        plt.close(figure)
        for alpha in (0.1, 1.0):
            with mlflow.start_run(run_name=f"alpha-{alpha}", nested=True):
                mlflow.log_param("alpha", alpha)
                mlflow.log_metric("rmse", 3.0 - alpha)

    data = read_logs(tracking)
    assert [e.name for e in data.experiments.values()] == ["houses"]
    assert next(iter(data.experiments)) == experiments.experiment_id_for("houses")
    runs = by_name(data)
    assert set(runs) == {"parent", "alpha-0.1", "alpha-1.0"}
    top = runs["parent"]
    assert top.run_id == parent.info.run_id and top.status == "FINISHED" and top.description == "grid over *alpha*"
    assert top.params == {"model": "ridge", "folds": "3"}  # MLflow sends params as text
    assert top.tags["stage"] == "dev" and top.tags["mlflow.source.type"] == "LOCAL"
    assert points(top, "loss") == [(0, 1.0), (1, 0.5), (2, 1 / 3), (3, 0.25)]
    assert points(top, "rmse") == [(3, 2.5)] and points(top, "mae") == [(3, 1.5)]
    assert {a.path for a in top.artifacts} == {"configs/config.yaml", "grid.json", "notes/summary.txt",
                                               "plots/curve.png"}
    assert top.artifacts_dir == str(tracking / top.experiment_id / top.run_id / "artifacts")
    for name in ("alpha-0.1", "alpha-1.0"):
        assert runs[name].parent_run_id == top.run_id and runs[name].status == "FINISHED"
    assert runs["alpha-0.1"].params == {"alpha": "0.1"}

    lines = run_lines(tracking)[top.run_id]
    assert lines[0]["name"] == "parent" and lines[0]["description"] == "grid over *alpha*"
    assert [line["status"] for line in lines if line["kind"] == "end"] == ["FINISHED"]
    assert "mlflow.runName" not in {line.get("key") for line in lines}  # the name is on the start line

    site = build_site(tracking, tmp_path / "site")
    run_page = page(site, "runs", top.run_id)
    shown = tables(run_page)
    assert shown["Parameters"] == {"folds": ["3"], "model": ["ridge"]}
    assert {"loss", "rmse", "mae"} <= set(shown["Metrics"]) and shown["Tags"]["stage"] == ["dev"]
    assert {"configs/config.yaml", "grid.json", "notes/summary.txt", "plots/curve.png"} <= artifact_links(run_page)
    assert run_page.find("img", alt="plots/curve.png") is not None
    children = {a.get_text(strip=True) for a in run_page.select("ul.children a")}
    assert children == {"alpha-0.1", "alpha-1.0"}


def test_start_run_with_an_ended_runs_id_resumes_it(tracking):
    with mlflow.start_run(run_name="twice") as first:
        mlflow.log_metric("loss", 0.5, step=0)
    with mlflow.start_run(run_id=first.info.run_id):
        assert mlflow.get_run(first.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("loss", 0.4, step=1)
    kinds = [line["kind"] for line in run_lines(tracking)[first.info.run_id] if line["kind"] != "tag"]
    assert kinds == ["start", "metrics", "end", "resume", "metrics", "end"]  # MLflow logs a point by log_batch
    run = mlflow.get_run(first.info.run_id)
    assert run.info.status == "FINISHED" and run.data.metrics == {"loss": 0.4}


# ---------------------------------------------------------------- MlflowClient


def test_client_calls_write_and_read_back(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("client", tags={"team": "pricing"})
    assert experiment_id == experiments.experiment_id_for("client")
    assert client.get_experiment(experiment_id).tags == {"team": "pricing"}
    assert client.get_experiment_by_name("client").experiment_id == experiment_id
    assert client.get_experiment_by_name("nobody") is None
    client.set_experiment_tag(experiment_id, "owner", "ana")
    with pytest.raises(MlflowException, match="already exists"):
        client.create_experiment("client")

    made = [client.create_run(experiment_id, run_name=f"run-{i}", tags={"seed": str(i)}) for i in range(3)]
    for i, run in enumerate(made):
        client.log_batch(run.info.run_id, metrics=[Metric("acc", 0.5 + i / 10, 1000 + s, s) for s in range(3)],
                         params=[Param("lr", str(0.1 * (i + 1)))], tags=[RunTag("kind", "grid")])
    first = made[0].info.run_id
    # on disk when the call returns, before anything is read back
    assert [point["value"] for point in points_of(run_lines(tracking)[first])] == [0.5] * 3
    client.log_batch(first, metrics=[Metric("acc", 0.1, 999, 1)])  # an earlier step: not the latest
    got = client.get_run(first)
    assert got.info.status == "RUNNING" and got.info.run_name == "run-0"
    assert got.info.artifact_uri == (tracking / experiment_id / first / "artifacts").as_uri()
    assert got.data.params == {"lr": "0.1"} and got.data.metrics == {"acc": 0.5}
    assert got.data.tags["seed"] == "0" and got.data.tags["kind"] == "grid"
    history = client.get_metric_history(first, "acc")
    assert [(m.step, m.value, m.timestamp) for m in history] == [(0, 0.5, 1000), (1, 0.5, 1001), (2, 0.5, 1002),
                                                                 (1, 0.1, 999)]

    found = client.search_runs([experiment_id], "metrics.acc > 0.55 and tags.kind = 'grid'",
                               order_by=["metrics.acc DESC"])
    assert [r.info.run_name for r in found] == ["run-2", "run-1"]
    page_one = client.search_runs([experiment_id], order_by=["attributes.run_name ASC"], max_results=2)
    page_two = client.search_runs([experiment_id], order_by=["attributes.run_name ASC"], max_results=2,
                                  page_token=page_one.token)
    assert [r.info.run_name for r in page_one] + [r.info.run_name for r in page_two] == ["run-0", "run-1", "run-2"]
    assert page_two.token is None
    with pytest.raises(MlflowException, match="filter"):
        client.search_runs([experiment_id], "metrics.acc >>> 1")

    client.set_terminated(first, "FAILED", end_time=5000)
    client.log_metric(first, "late", 1.0)  # MLflow lets a client log to an ended run; it stays ended
    client.update_run(first, name="renamed")
    ended = client.get_run(first)
    assert (ended.info.status, ended.info.end_time, ended.info.run_name) == ("FAILED", 5000, "renamed")
    assert ended.data.metrics["late"] == 1.0
    assert [e.name for e in client.search_experiments(filter_string="name = 'client'")] == ["client"]

    data = read_logs(tracking)
    assert data.experiments[experiment_id].tags == {"team": "pricing", "owner": "ana"}
    assert data.runs[first].status == "FAILED" and data.runs[first].end_time == 5000
    assert data.runs[first].name == "renamed"


def test_what_the_format_cannot_do_raises_clearly(tracking):
    from mlflow.protos.databricks_pb2 import ErrorCode

    client = MlflowClient()
    run = client.create_run("0")
    run_id = run.info.run_id
    client.log_param(run_id, "depth", "3")
    with pytest.raises(MlflowException, match="depth") as error:
        client.log_param(run_id, "depth", "4")
    assert error.value.error_code == ErrorCode.Name(ErrorCode.INVALID_PARAMETER_VALUE)
    with pytest.raises(MlflowException, match="not found") as error:
        client.get_run("0" * 32)
    assert error.value.error_code == ErrorCode.Name(ErrorCode.RESOURCE_DOES_NOT_EXIST)
    for call in (lambda: client.delete_tag(run_id, "x"), lambda: client.delete_experiment("0"),
                 lambda: client.rename_experiment("0", "other")):
        with pytest.raises(MlflowException, match="flowsheet tracking store does not support") as error:
            call()
        assert error.value.error_code == ErrorCode.Name(ErrorCode.NOT_IMPLEMENTED)
    with pytest.raises(MlflowException, match="start_run"):
        client.create_logged_model("0")  # a model needs a run: its files go to the run's artifacts
    assert client.get_run(run_id).data.params == {"depth": "3"}


def test_a_run_deleted_through_mlflow_leaves_the_site_and_comes_back_when_restored(tracking, tmp_path):
    from logger.reader import read_logs

    with mlflow.start_run(run_name="kept"):
        mlflow.log_metric("loss", 1.0)
    with mlflow.start_run(run_name="dropped") as dropped:
        mlflow.log_metric("loss", 2.0)
    mlflow.delete_run(dropped.info.run_id)
    assert [run.deleted for run in read_logs(tracking).runs.values() if run.name == "dropped"] == [True]
    shown = mlflow.search_runs(search_all_experiments=True)
    assert list(shown["tags.mlflow.runName"]) == ["kept"]
    site = build_site(tracking, tmp_path / "site")
    assert not (site / "runs" / dropped.info.run_id).exists()
    MlflowClient().restore_run(dropped.info.run_id)
    assert sorted(mlflow.search_runs(search_all_experiments=True)["tags.mlflow.runName"]) == ["dropped", "kept"]


def test_a_damaged_line_is_reported_not_raised(tracking):
    client = MlflowClient()
    run_id = client.create_run("0", run_name="damaged").info.run_id
    client.log_metric(run_id, "loss", 0.5, step=0)
    [run_file] = tracking.glob(f"*/{run_id}/run.jsonl")
    with open(run_file, "ab") as file:
        file.write(b'{"v":1,"kind":"metric","key":\x00garbage\n')
    client.log_metric(run_id, "loss", 0.25, step=1)  # the writer goes on after the bad line
    with pytest.warns(LogProblemWarning, match="run.jsonl"):
        got = client.get_run(run_id)
    assert got.data.metrics == {"loss": 0.25}
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5, 0.25]


# ---------------------------------------------------------------- sklearn autolog and MLflow 3's logged models


@pytest.fixture
def quick_models(monkeypatch):
    """MLflow infers a model's pip requirements in a subprocess (many seconds); these tests check where
    the model goes, not what it requires."""
    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", lambda *args, **kwargs: ["scikit-learn"])


def test_sklearn_autolog_logs_a_run_a_model_and_its_artifacts(tracking, tmp_path, quick_models):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    mlflow.sklearn.autolog()
    try:
        fitted = LogisticRegression(max_iter=300).fit(features, labels)
    finally:
        mlflow.sklearn.autolog(disable=True)

    run = mlflow.last_active_run()
    model = mlflow.last_logged_model()
    assert run.info.status == "FINISHED" and run.data.params["max_iter"] == "300"
    assert run.data.metrics["training_accuracy_score"] > 0.9
    assert [d.dataset.digest for d in run.inputs.dataset_inputs] and run.outputs.model_outputs
    assert model.source_run_id == run.info.run_id
    assert model.artifact_location == f"{run.info.artifact_uri}/model"
    loaded = mlflow.sklearn.load_model(f"models:/{model.model_id}")
    assert (loaded.predict(features) == fitted.predict(features)).all()
    assert (mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(features) == labels).mean() > 0.9

    stored = read_logs(tracking).runs[run.info.run_id]
    [dataset] = json.loads(stored.tags["mlflow.datasets"])
    assert dataset["context"] == "train" and dataset["digest"] == run.inputs.dataset_inputs[0].dataset.digest
    files = {a.path for a in stored.artifacts}
    assert {"model/MLmodel", "model/model.pkl", "training_confusion_matrix.png", "estimator.html"} <= files
    assert stored.tags["mlflow.autologging"] == "sklearn" and "training_score" in stored.metrics
    # MLflow copies the run's metrics onto the model it logs: the run's file holds each point once
    assert all(len(history) == 1 for history in stored.metrics.values())

    other_process = FlowsheetStore(f"flowsheet:{tracking}")  # knows the model only by its MLmodel file
    found = other_process.get_logged_model(model.model_id)
    assert (found.name, found.source_run_id, found.artifact_location) == ("model", run.info.run_id,
                                                                          model.artifact_location)
    named = other_process.search_logged_models([run.info.experiment_id], filter_string="name = 'model'")
    assert [m.model_id for m in named] == [model.model_id]

    site = build_site(tracking, tmp_path / "site")
    run_page = page(site, "runs", run.info.run_id)
    assert {"model/MLmodel", "model/model.pkl", "training_confusion_matrix.png"} <= artifact_links(run_page)
    assert "training_accuracy_score" in tables(run_page)["Metrics"]
    assert (site / "runs" / run.info.run_id / "artifacts" / "model" / "model.pkl").is_file()


def test_two_models_of_one_name_in_one_run_get_two_folders(tracking, quick_models):
    from sklearn.linear_model import LinearRegression

    fitted = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with mlflow.start_run() as run:
        first = mlflow.sklearn.log_model(fitted, name="reg")
        second = mlflow.sklearn.log_model(fitted, name="reg")
    assert first.model_id != second.model_id
    files = {a.path for a in read_logs(tracking).runs[run.info.run_id].artifacts}
    assert {"reg/MLmodel", "reg-2/MLmodel"} <= files
