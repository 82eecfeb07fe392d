"""The MLflow calls users hit, against the real MLflow: the same script, run with `import mlflow` and with
`import flowsheet as mlflow`, must give the same shapes and values (strings for params, a list of Run,
MLflow's error codes, the same table file, the same dataset record); and what flowsheet adds or refuses."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from helpers import clean_env
from ondisk import events_of

import logger
from logger.exceptions import InvalidParameterValue, MlflowException, NotSupported, ResourceAlreadyExists
from logger.reader import LogReader

# One script for both: argv[1] is the module to import as mlflow, argv[2] the tracking URI.
SCENARIO = """
import importlib, json, sys
from pathlib import Path
import pandas as pd

mlflow = importlib.import_module(sys.argv[1])
mlflow.set_tracking_uri(sys.argv[2])
ViewType = mlflow.entities.ViewType
MlflowException = mlflow.exceptions.MlflowException
out = {}

def code(call):
    try:
        call()
    except MlflowException as error:
        return error.error_code
    return None

mlflow.set_experiment("gaps")
with mlflow.start_run() as run:
    mlflow.log_params({"lr": 0.1, "n": 3, "flag": True})
    mlflow.set_tag("team", "a")
    mlflow.log_metric("loss", 0.5, step=1)
    mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "tables/t.json")
    mlflow.log_table({"a": [3], "c": [0.5]}, "tables/t.json")
    table_path = mlflow.get_artifact_uri("tables/t.json")
    df = pd.DataFrame({"x": [1, 2], "y": [0.5, 1.5], "s": ["p", "q"]})
    mlflow.log_input(mlflow.data.from_pandas(df, source="data/train.csv", name="train"), context="training")
run_id = run.info.run_id
from urllib.parse import urlparse, unquote
out["table"] = json.loads(Path(unquote(urlparse(table_path).path)).read_text())
with mlflow.start_run(run_id=run_id):
    out["active_params"] = mlflow.active_run().data.params
stored = mlflow.get_run(run_id)
out["get_run_params"] = stored.data.params
out["tags_logged_artifacts"] = stored.data.tags.get("mlflow.loggedArtifacts")
[use] = stored.inputs.dataset_inputs
out["input"] = {k: getattr(use.dataset, k) for k in ("name", "source", "source_type", "schema", "profile")}
out["input_tags"] = [(t.key, t.value) for t in use.tags]
found = mlflow.search_runs(output_format="list")
out["list"] = [type(found).__name__, type(found[0]).__name__, found[0].info.run_id == run_id,
               found[0].data.params, found[0].data.metrics, found[0].info.lifecycle_stage]
out["frame_params"] = mlflow.search_runs()[["params.lr", "params.n"]].to_dict("records")
loaded = mlflow.load_table("tables/t.json", run_ids=[run_id], extra_columns=["run_id"])
out["load_table"] = loaded.astype(object).where(loaded.notna(), None).to_dict("list")
out["load_table"]["run_id"] = [r == run_id for r in out["load_table"]["run_id"]]

client = mlflow.tracking.MlflowClient()
client.delete_run(run_id)
out["deleted"] = [len(mlflow.search_runs(output_format="list")),
                  len(mlflow.search_runs(output_format="list", run_view_type=ViewType.ALL)),
                  len(mlflow.search_runs(output_format="list", run_view_type=ViewType.DELETED_ONLY)),
                  len(mlflow.search_runs()), client.get_run(run_id).info.lifecycle_stage]
out["log_to_deleted"] = code(lambda: client.log_param(run_id, "x", 1))
client.restore_run(run_id)
out["restored"] = [len(mlflow.search_runs(output_format="list")), client.get_run(run_id).info.lifecycle_stage]

experiment_id = client.create_experiment("by-client", tags={"k": "v"})
made = client.create_run(experiment_id, run_name="explicit")
made_id = made.info.run_id
out["create_run"] = [made.info.status, made.info.run_name, made.data.tags.get("mlflow.runName"), mlflow.active_run()]
client.log_metric(made_id, "m", 1.0, step=0)
client.log_metric(made_id, "m", 3.0, step=2)
client.log_param(made_id, "p", 7)
client.set_tag(made_id, "t", "v")
client.log_batch(made_id, metrics=[mlflow.entities.Metric("b", 2.0, 1000, 5)], params=[mlflow.entities.Param("q", "w")],
                 tags=[mlflow.entities.RunTag("u", "x")])
fetched = client.get_run(made_id)
out["client_run"] = [fetched.info.status, fetched.data.params, fetched.data.metrics,
                     {k: v for k, v in fetched.data.tags.items() if not k.startswith("mlflow.")}]
out["history"] = [(m.key, m.value, m.step) for m in client.get_metric_history(made_id, "m")]
client.set_terminated(made_id)
page = client.search_runs([experiment_id])
out["client_search"] = [len(page), page.token, page[0].info.status]
out["experiment"] = [client.get_experiment(experiment_id).name, client.get_experiment(experiment_id).tags.get("k"),
                     client.get_experiment_by_name("by-client").experiment_id == experiment_id,
                     client.get_experiment_by_name("nope"), sorted(e.name for e in client.search_experiments())]
out["errors"] = {
    "get_run": code(lambda: mlflow.get_run("0" * 32)),
    "create_experiment": code(lambda: mlflow.create_experiment("gaps")),
    "param_change": code(lambda: client.log_param(made_id, "p", 8)),
    "filter": code(lambda: mlflow.search_runs(filter_string="metrics.loss >")),
    "get_experiment": code(lambda: client.get_experiment("123456")),
}
from sklearn.linear_model import LinearRegression
model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
target = Path("saved-model")
mlflow.sklearn.save_model(model, str(target))
out["save_load"] = float(mlflow.sklearn.load_model(str(target)).predict([[2.0]])[0])
out["save_again"] = code(lambda: mlflow.sklearn.save_model(model, str(target)))
print(json.dumps(out, default=str))
"""


def run_scenario(module: str, uri: str, folder) -> dict:
    env = clean_env(MLFLOW_ALLOW_FILE_STORE="true")  # MLflow 3 wants a database unless told otherwise
    done = subprocess.run([sys.executable, "-c", SCENARIO, module, uri], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the real MLflow (the test extra)")
def test_the_same_script_gives_what_mlflow_gives(tmp_path):
    (tmp_path / "theirs").mkdir()
    (tmp_path / "ours").mkdir()
    theirs = run_scenario("mlflow", "file:./mlruns", tmp_path / "theirs")
    ours = run_scenario("flowsheet", "file:./runs", tmp_path / "ours")
    # MLflow makes experiment 'Default' in every store; flowsheet makes it when a run needs it.
    theirs["experiment"][-1].remove("Default")
    assert ours == theirs
    assert ours["list"][:2] == ["list", "Run"] and ours["get_run_params"] == {"lr": "0.1", "n": "3", "flag": "True"}


# --------------------------------------------------------------------- reading back


def test_search_runs_as_a_list_of_runs(log_dir):
    with logger.start_run() as run:
        logger.log_params({"lr": 0.1, "layers": [1, 2]})
        logger.log_metric("loss", 0.5)
    [found] = logger.search_runs(output_format="list")
    assert found.info.run_id == found.info.run_uuid == run.info.run_id
    assert found.data.params == {"lr": "0.1", "layers": "[1, 2]"} and found.data.metrics == {"loss": 0.5}
    with pytest.raises(InvalidParameterValue, match="output_format"):
        logger.search_runs(output_format="json")


def test_active_run_data_is_text_as_get_run_gives_it(log_dir):
    with logger.start_run() as run:
        logger.log_params({"lr": 0.1, "n": 3, "flag": True, "none": None})
        logger.set_tag("t", 1.5)
        assert logger.active_run().data.params == logger.get_run(run.info.run_id).data.params == {
            "lr": "0.1", "n": "3", "flag": "True", "none": "None"}
        assert logger.active_run().data.tags["t"] == "1.5"


def test_a_read_sees_what_this_process_just_logged(log_dir):
    with logger.start_run() as run:
        logger.log_metric("m", 1.0)  # buffered by the fluent API
        assert logger.get_run(run.info.run_id).data.metrics == {"m": 1.0}
        [point] = logger.get_metric_history(run.info.run_id, "m")
        assert (point.key, point.value, point.step) == ("m", 1.0, 0)


def test_errors_are_mlflow_exceptions_and_what_flowsheet_raised_before(log_dir):
    logger.create_experiment("taken")
    with pytest.raises(ValueError) as raised:
        logger.create_experiment("taken")
    assert isinstance(raised.value, ResourceAlreadyExists) and raised.value.get_http_status_code() == 400
    with pytest.raises(ValueError) as raised:
        logger.get_experiment("missing")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST" and raised.value.get_http_status_code() == 404
    with logger.start_run(), pytest.raises(TypeError) as raised:
        logger.log_metric("m", "high")
    assert isinstance(raised.value, MlflowException) and raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert json.loads(raised.value.serialize_as_json())["error_code"] == "INVALID_PARAMETER_VALUE"


# --------------------------------------------------------------------- what flowsheet refuses


def test_tracking_servers_are_refused_with_the_alternative(log_dir):
    for uri in ("http://tracking:5000", "https://x.cloud.databricks.com", "databricks", "databricks-uc",
                "postgresql://db/mlflow"):
        with pytest.raises(NotSupported, match=r"no tracking server: it writes to a folder.*file:"):
            logger.set_tracking_uri(uri)
    assert logger.get_tracking_uri() == log_dir.absolute().as_uri()  # unchanged


def test_the_model_registry_is_refused_with_the_alternative(log_dir):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    refused = pytest.raises(NotSupported, match=r"registered_model_name='prod'.*no model registry.*runs:/")
    with logger.start_run() as run, refused:
        logger.sklearn.log_model(model, name="model", registered_model_name="prod")
    assert not any((run.folder / "artifacts").iterdir())  # refused before writing anything
    with pytest.raises(NotSupported, match="save_model"):
        logger.sklearn.load_model("models:/prod/1")
    for call in (lambda: logger.register_model(f"runs:/{run.info.run_id}/model", "prod"),
                 lambda: logger.set_registry_uri("databricks-uc")):
        with pytest.raises(NotSupported, match="no model registry") as refused:
            call()
        assert refused.value.error_code == "NOT_IMPLEMENTED"


def test_save_model_and_load_it_from_its_folder(tmp_path):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    logger.sklearn.save_model(model, tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "model.pkl"]
    assert logger.sklearn.load_model(tmp_path / "model").predict([[3.0]])[0] == pytest.approx(6.0)
    with pytest.raises(ResourceAlreadyExists, match="not empty"):
        logger.sklearn.save_model(model, tmp_path / "model")


# --------------------------------------------------------------------- log_table


def test_log_table_from_a_dict_a_row_and_a_dataframe(log_dir):
    import pandas as pd

    with logger.start_run() as run:
        logger.log_table({"q": "What?", "score": float("nan")}, "one-row.json")  # scalars: one row
        logger.log_table(pd.DataFrame({"x": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])}),
                         "frame.json")
        logger.log_table({"x": [3]}, "frame.json")
        listed = json.loads(logger.active_run().data.tags["mlflow.loggedArtifacts"])
    artifacts = run.folder / "artifacts"
    assert json.loads((artifacts / "one-row.json").read_text()) == {"columns": ["q", "score"], "data": [["What?", None]]}
    assert json.loads((artifacts / "frame.json").read_text()) == {
        "columns": ["x", "when"], "data": [[1, "2024-01-01T00:00:00.000"], [2, "2024-01-02T00:00:00.000"], [3, None]]}
    assert listed == [{"path": "one-row.json", "type": "table"}, {"path": "frame.json", "type": "table"}]


def test_log_table_refuses_what_it_cannot_write(log_dir):
    with logger.start_run():
        with pytest.raises(NotSupported, match=r"\.json"):
            logger.log_table({"a": [1]}, "t.parquet")
        with pytest.raises(InvalidParameterValue, match=r"ends in \.json"):
            logger.log_table({"a": [1]}, "t.csv")
        with pytest.raises(InvalidParameterValue, match="one length"):
            logger.log_table({"a": [1, 2], "b": [1]}, "t.json")
        with pytest.raises(InvalidParameterValue, match="DataFrame or a dictionary"):
            logger.log_table([[1, 2]], "t.json")


# --------------------------------------------------------------------- log_input


class MlflowLikeDataset:
    """What an MLflow dataset object offers: name, digest and to_dict() of JSON texts."""

    name, digest = "prices", "abc123"

    def to_dict(self):
        return {"name": self.name, "digest": self.digest, "source": '{"uri": "s3://b/prices.parquet"}',
                "source_type": "s3", "schema": None, "profile": '{"num_rows": 10}'}


def test_log_input_takes_datasets_dicts_frames_and_mlflow_datasets(log_dir):
    import pandas as pd

    with logger.start_run() as run:
        logger.log_input(logger.data.from_dict({"a": [1, 2], "b": ["x", "y"]}, source="data/a.csv", name="a"),
                         context="training", tags={"split": "80%"})
        logger.log_input({"a": [1, 2], "b": ["x", "y"]}, context="training", tags={"split": "80%"})
        logger.log_input(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), context="evaluation")
        logger.log_input(MlflowLikeDataset())
        logger.log_input(MlflowLikeDataset())  # the same input twice is one input
        with pytest.raises(NotSupported, match="log_model"):
            logger.log_input(model=object())
        with pytest.raises(TypeError, match="Dataset"):
            logger.log_input([1, 2, 3])
    inputs = logger.get_run(run.info.run_id).inputs.dataset_inputs
    named = [(i.dataset.name, i.dataset.source_type, [(t.key, t.value) for t in i.tags]) for i in inputs]
    assert named == [("a", "local", [("split", "80%"), ("mlflow.data.context", "training")]),
                     ("dataset", "code", [("split", "80%"), ("mlflow.data.context", "training")]),
                     ("dataset", "code", [("mlflow.data.context", "evaluation")]),
                     ("prices", "s3", [])]
    first, from_dict, from_frame, theirs = (i.dataset for i in inputs)
    assert first.digest == from_dict.digest == from_frame.digest  # the same data, the same digest
    assert json.loads(first.schema) == {"mlflow_colspec": [{"type": "long", "name": "a", "required": True},
                                                           {"type": "string", "name": "b", "required": True}]}
    assert json.loads(first.profile) == {"num_rows": 2, "num_elements": 4}
    assert (theirs.digest, theirs.source, theirs.schema) == ("abc123", '{"uri": "s3://b/prices.parquet"}', None)
    assert len(events_of(log_dir, run.info.run_id, "input")) == 5


def test_a_bad_input_line_is_a_problem_and_the_rest_reads(tmp_path):
    folder = tmp_path / "exp" / "run1"
    folder.mkdir(parents=True)
    good = {"v": 1, "kind": "input", "t": 2, "name": "d", "digest": "1", "source_type": "code", "source": "{}",
            "schema": None, "profile": None, "tags": {"mlflow.data.context": "training"}}
    lines = [{"v": 1, "kind": "start", "t": 1, "run_id": "run1", "experiment_id": "exp", "name": "r"},
             {**good, "digest": 7}, {**good, "tags": {"k": 1}}, {**good, "schema": "x" * 70_000}, good]
    (folder / "run.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    reader = LogReader(tmp_path)
    reader.refresh()
    assert [p.line for p in reader.data.problems] == [2, 3, 4]
    [kept] = reader.data.runs["run1"].inputs
    assert (kept.name, kept.tags) == ("d", {"mlflow.data.context": "training"})


def test_an_input_too_big_to_record_is_refused(log_dir):
    wide = {f"column_{i}": [1] for i in range(2000)}
    with logger.start_run(), pytest.raises(InvalidParameterValue, match="schema"):
        logger.log_input(wide)
