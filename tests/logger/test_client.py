"""`MlflowClient`: MLflow's explicit tracking calls, and deleting and restoring runs."""

from __future__ import annotations

import io

import pytest
from helpers import run_python
from ondisk import events_of, lines_of

import logger
from logger import MlflowClient
from logger.entities import Metric, PagedList, Param, RunTag, ViewType
from logger.exceptions import MlflowException, NotSupported
from logger.reader import LogReader, read_logs
from logger.search import get_run

from reporter.commands.runs import show_runs
from reporter.config import BuildConfig
from reporter.live.rebuild import FULL, link_facts, scope_of
from reporter.site.build import build, publishable


@pytest.fixture
def client(log_dir):
    return MlflowClient()


def test_a_run_made_and_logged_by_id(client, log_dir):
    experiment_id = client.create_experiment("explicit", tags={"team": "a"})
    made = client.create_run(experiment_id, run_name="by-id", start_time=1_700_000_000_000, tags={"stage": "dev"})
    run_id = made.info.run_id
    assert (made.info.status, made.info.run_name, made.info.start_time) == ("RUNNING", "by-id", 1_700_000_000_000)
    assert made.data.tags["stage"] == "dev" and logger.active_run() is None  # not made active
    client.log_metric(run_id, "loss", 0.5, step=1)
    client.log_metric(run_id, "loss", 0.25, timestamp=1_700_000_000_500, step=2)
    assert client.log_param(run_id, "lr", 0.1) == 0.1
    client.set_tag(run_id, "note", "x")
    client.log_batch(run_id, metrics=[Metric("acc", 0.9, 1_700_000_000_900, 3)], params=[Param("n", "3")],
                     tags=[RunTag("batch", "yes")])
    fetched = client.get_run(run_id)
    assert fetched.data.params == {"lr": "0.1", "n": "3"}
    assert fetched.data.metrics == {"loss": 0.25, "acc": 0.9}
    assert {k: v for k, v in fetched.data.tags.items() if not k.startswith("mlflow.")} == {
        "stage": "dev", "note": "x", "batch": "yes"}
    assert [(m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, "acc")] == [
        (3, 0.9, 1_700_000_000_900)]
    client.set_terminated(run_id, "FAILED", end_time=1_700_000_001_000)
    ended = client.get_run(run_id).info
    assert (ended.status, ended.end_time) == ("FAILED", 1_700_000_001_000)
    assert client.get_experiment(experiment_id).tags == {"team": "a"}
    assert client.get_experiment_by_name("explicit").experiment_id == experiment_id
    assert client.get_experiment_by_name("nope") is None
    page = client.search_runs([experiment_id], filter_string="metrics.acc > 0.5")
    assert isinstance(page, PagedList) and page.token is None and [r.info.run_id for r in page] == [run_id]
    assert [e.name for e in client.search_experiments()] == ["explicit"]


def test_each_call_is_written_before_it_returns(client, log_dir):
    run_id = client.create_run(client.create_experiment("sync")).info.run_id
    client.log_metric(run_id, "m", 1.0)
    assert [e["value"] for e in events_of(log_dir, run_id, "metric")] == [1.0]  # no flush, no wait


def test_a_run_the_client_made_is_left_running_at_exit(log_dir, tmp_path):
    run_python(f"""
        from logger import MlflowClient
        client = MlflowClient({str(log_dir)!r})
        run = client.create_run(client.create_experiment("left"))
        client.log_metric(run.info.run_id, "m", 1.0)
    """, cwd=tmp_path)
    [run] = read_logs(log_dir).runs.values()
    assert run.status == "RUNNING" and run.end_time is None and len(run.metrics["m"]) == 1


def test_logging_to_an_ended_run_does_not_reopen_it(client, log_dir):
    with logger.start_run() as run:
        logger.log_param("a", 1)
    client.log_metric(run.info.run_id, "late", 2.0)
    with pytest.raises(MlflowException, match="already logged") as refused:
        client.log_param(run.info.run_id, "a", 2)  # params stay immutable across the two writers
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    kinds = [e["kind"] for e in events_of(log_dir, run.info.run_id)]
    assert "resume" not in kinds and kinds[-1] == "metric"
    assert get_run(run.info.run_id).info.status == "FINISHED"


def test_a_run_open_in_this_process_is_written_through_its_own_object(client, log_dir):
    with logger.start_run() as run:
        client.log_param(run.info.run_id, "p", 1)
        assert run.data.params == {"p": "1"}
        client.set_terminated(run.info.run_id)
        assert logger.active_run() is None and run.ended


def test_log_batch_writes_nothing_when_one_item_is_bad(client, log_dir):
    run_id = client.create_run(client.create_experiment("batch")).info.run_id
    with pytest.raises(TypeError):
        client.log_batch(run_id, metrics=[Metric("ok", 1.0, 1, 0), Metric("bad", "text", 1, 0)],
                         params=[Param("p", "1")])
    assert [e["kind"] for e in events_of(log_dir, run_id)] == ["start"]


def test_errors_carry_mlflow_codes(client, log_dir):
    def code(call):
        with pytest.raises(MlflowException) as raised:
            call()
        return raised.value.error_code

    client.create_experiment("taken")
    assert code(lambda: client.create_experiment("taken")) == "RESOURCE_ALREADY_EXISTS"
    assert code(lambda: client.get_run("f" * 32)) == "RESOURCE_DOES_NOT_EXIST"
    assert code(lambda: client.get_experiment("nope")) == "RESOURCE_DOES_NOT_EXIST"
    assert code(lambda: client.log_metric("f" * 32, "m", 1.0)) == "RESOURCE_DOES_NOT_EXIST"
    assert code(lambda: client.search_runs(["x"], filter_string="metrics.m >")) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.search_runs(["x"], page_token="abc")) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.search_experiments(filter_string="name = 'a'")) == "NOT_IMPLEMENTED"
    # the built-in exceptions flowsheet raised before still catch them
    with pytest.raises(LookupError):
        client.get_run("f" * 32)


def test_registry_calls_and_servers_are_refused_with_the_alternative(log_dir):
    client = MlflowClient()
    with pytest.raises(NotSupported, match=r"no model registry.*runs:/<run_id>/<artifact_path>"):
        client.create_registered_model("m")
    with pytest.raises(NotSupported, match="no model registry"):
        MlflowClient(registry_uri="databricks-uc")
    for uri in ("http://localhost:5000", "databricks", "databricks://profile", "sqlite:///mlflow.db"):
        with pytest.raises(NotSupported, match=r"no tracking server.*file:") as refused:
            MlflowClient(uri)
        assert refused.value.error_code == "NOT_IMPLEMENTED"
    with pytest.raises(AttributeError, match="tracking calls"):
        client.no_such_call  # noqa: B018


def test_runs_of_other_formats_are_read_not_written(client, log_dir):
    log_dir.mkdir(parents=True)
    (log_dir / "metrics.jsonl").write_text('{"step": 1, "loss": 0.5}\n')
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.data.metrics == {"loss": 0.5}
    with pytest.raises(NotSupported, match="reporter import"):
        client.log_metric(run.info.run_id, "loss", 0.1)


# --------------------------------------------------------------------- deleting and restoring


def test_a_deleted_run_is_hidden_until_restored(client, log_dir):
    with logger.start_run() as kept:
        logger.log_metric("m", 1.0)
    with logger.start_run() as gone:
        logger.log_metric("m", 2.0)
    gone_id = gone.info.run_id
    logger.delete_run(gone_id)  # MLflow's fluent call
    assert events_of(log_dir, gone_id)[-1]["kind"] == "deleted"

    def shown(view=ViewType.ACTIVE_ONLY):
        return sorted(r.info.run_id for r in logger.search_runs(output_format="list", run_view_type=view))

    assert shown() == [kept.info.run_id] and list(logger.search_runs()["run_id"]) == [kept.info.run_id]
    assert shown(ViewType.ALL) == sorted([kept.info.run_id, gone_id])
    assert shown(ViewType.DELETED_ONLY) == [gone_id]
    assert client.get_run(gone_id).info.lifecycle_stage == "deleted"
    assert client.get_run(gone_id).info.status == "FINISHED"  # deleting is not an event of the run
    with pytest.raises(MlflowException, match="'active' state") as refused:
        client.log_metric(gone_id, "m", 3.0)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="'active' state"):
        logger.start_run(run_id=gone_id)
    client.restore_run(gone_id)
    assert shown() == sorted([kept.info.run_id, gone_id])
    assert client.get_run(gone_id).info.lifecycle_stage == "active"


def test_deleting_the_active_run_stops_its_logging(client, log_dir):
    with logger.start_run() as run:
        logger.log_metric("m", 1.0)
        client.delete_run(run.info.run_id)
        with pytest.raises(MlflowException, match="deleted"):
            logger.log_metric("m", 2.0)  # a key logged before: the hot path must not let it through
        client.restore_run(run.info.run_id)
        logger.log_metric("m", 3.0)
    assert [e["value"] for e in events_of(log_dir, run.info.run_id, "metric")] == [1.0, 3.0]


def test_the_reader_keeps_the_last_word_and_the_runs_times(tmp_path):
    folder = tmp_path / "exp" / "run1"
    folder.mkdir(parents=True)
    lines = ['{"v":1,"kind":"start","t":1000,"run_id":"run1","experiment_id":"exp","name":"r"}',
             '{"v":1,"kind":"metric","t":2000,"key":"m","value":1,"step":0}']
    (folder / "run.jsonl").write_text("\n".join(lines) + "\n")
    reader = LogReader(tmp_path)
    reader.refresh(now=1_000_000)
    assert reader.data.runs["run1"].deleted is False
    with open(folder / "run.jsonl", "a") as file:
        file.write('{"v":1,"kind":"deleted","t":999000}\n')
    changes = reader.refresh(now=1_000_000)
    run = reader.data.runs["run1"]
    assert changes.runs == {"run1"} and run.deleted
    assert (run.status, run.last_time) == ("UNFINISHED", 2000)  # the deleted line does not make it RUNNING
    with open(folder / "run.jsonl", "a") as file:
        file.write('{"v":1,"kind":"restored","t":999100}\n{"v":1,"kind":"deleted"}\n')  # the last has no time
    reader.refresh(now=1_000_000)
    run = reader.data.runs["run1"]
    assert not run.deleted and [p.line for p in reader.data.problems] == [5]


def test_reporter_runs_and_the_site_leave_deleted_runs_out(client, log_dir, tmp_path):
    with logger.start_run(run_name="kept"):
        logger.log_metric("m", 1.0)
    with logger.start_run(run_name="gone") as gone:
        logger.log_metric("m", 2.0)
    client.delete_run(gone.info.run_id)
    out = io.StringIO()
    assert show_runs(log_dir, fmt="csv", out=out, err=io.StringIO()) == 0
    assert "kept" in out.getvalue() and "gone" not in out.getvalue()
    site = tmp_path / "site"
    result = build(BuildConfig.from_options(log_dir, site, environ={}))
    assert result.runs == 1 and not (site / "runs" / gone.info.run_id).exists()
    assert gone.info.run_id not in (site / "runs-data.js").read_text()


def test_serve_rebuilds_everything_when_a_shown_run_is_deleted(client, log_dir, tmp_path):
    """Only a full build removes a page, so the live server must not render just the changed pages."""
    with logger.start_run() as run:
        logger.log_metric("m", 1.0)
    config = BuildConfig.from_options(log_dir, tmp_path / "site", environ={})
    reader = LogReader(log_dir)
    reader.refresh()
    before = link_facts(publishable(reader.data, config)[0])
    client.delete_run(run.info.run_id)
    changes = reader.refresh()
    assert scope_of(changes, publishable(reader.data, config)[0], before) == FULL
    assert lines_of(next(log_dir.glob(f"*/{run.info.run_id}/run.jsonl")))[-1]["kind"] == "deleted"
