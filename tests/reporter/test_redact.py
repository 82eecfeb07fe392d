import pytest

from logger.model import Artifact, Experiment, LogData, Run

from reporter.site.redact import MASK, Redaction, redact


def sample(tmp_path=None):
    run = Run(run_id="r1", experiment_id="e1", name="run", path=str(tmp_path / "e1" / "r1") if tmp_path else "r1",
              params={"lr": 0.1, "db_password": "hunter2", "tokenizer": "bpe", "max_tokens": 512,
                      "hf_token": "hf_abcdefghijklmnopqrstuvwxyzABCDEF", "empty_secret": ""},
              tags={"apiKey": "abc", "note": "key AKIAABCDEFGHIJKLMNOP in a note", "stage": "dev"},
              system={"command": "train.py --api-key=s3cr3t --lr 0.1", "user": "ana"},
              description="uses sk-proj-abcdefghijklmnopqrstuvwxyz0123",
              artifacts=[Artifact("model.ckpt", 10), Artifact("plots/loss.png", 5), Artifact("private/keys.txt", 3)])
    experiment = Experiment("e1", "exp", "e1", tags={"slack": "xoxb-123456789012-abcdefghij", "team": "x"})
    return LogData(experiments={"e1": experiment}, runs={"r1": run})


def test_secret_keys_and_token_values_are_masked():
    data = sample()
    safe, report = redact(data, Redaction())
    run = safe.runs["r1"]
    assert run.params == {"lr": 0.1, "db_password": MASK, "tokenizer": "bpe", "max_tokens": 512, "hf_token": MASK,
                          "empty_secret": ""}
    assert run.tags == {"apiKey": MASK, "note": f"key {MASK} in a note", "stage": "dev"}
    assert run.system["command"] == f"train.py --api-key={MASK} --lr 0.1"
    assert run.description == f"uses {MASK}"
    assert safe.experiments["e1"].tags == {"slack": MASK, "team": "x"}
    assert report.keys == {"db_password", "hf_token", "apiKey"}
    assert "db_password" in report.message() and "--no-redact" in report.message()
    # the reader's data is untouched
    assert data.runs["r1"].params["db_password"] == "hunter2"


@pytest.mark.parametrize("key, secret", [
    ("password", True), ("DB_PASSWORD", True), ("awsAccessKey", True), ("private-key", True), ("token", True),
    ("client_secret", True), ("api_key", True), ("tokenizer", False), ("max_tokens", False), ("keyboard", False),
    ("learning_rate", False), ("secretary_count", False),
    # a tokenizer's special-token indices (Hugging Face model configs) are not secrets; the tokens still are
    ("model.pad_token_id", False), ("bos_token_id", False), ("eos_token_ids", False), ("hf_token", True),
    ("token_secret_id", True),
])
def test_key_names(key, secret):
    assert Redaction().key_is_secret(key) is secret


def test_extra_patterns_and_turning_it_off():
    data = sample()
    safe, report = redact(data, Redaction(extra_patterns=("^stage$",)))
    assert safe.runs["r1"].tags["stage"] == MASK
    same, report = redact(data, Redaction(enabled=False))
    assert same.runs["r1"].params["db_password"] == "hunter2" and report.message() is None


def test_flowsheetignore_leaves_artifacts_out(tmp_path):
    (tmp_path / ".flowsheetignore").write_text("# checkpoints are big and private\n*.ckpt\nprivate/\n")
    safe, report = redact(sample(tmp_path), Redaction(), log_dir=tmp_path)
    assert [a.path for a in safe.runs["r1"].artifacts] == ["plots/loss.png"]
    assert report.ignored_artifacts == 2


def test_no_secret_reaches_any_file_of_the_site(tmp_path):
    from click.testing import CliRunner

    import logger

    from reporter.cli import main

    logs = tmp_path / "runs"
    logger.set_log_dir(logs)
    try:
        with logger.start_run(run_name="leaky") as run:
            logger.log_params({"db_password": "hunter2-secret", "lr": 0.1})
            logger.set_tag("note", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789")
            logger.log_text("weights", "checkpoints/model.ckpt")
            logger.log_text("fine", "report.txt")
    finally:
        logger.set_log_dir(None)
    (logs / ".flowsheetignore").write_text("*.ckpt\n")

    def site_text(folder):
        return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())

    result = CliRunner().invoke(main, ["build", str(logs), "-o", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert "masked the values of db_password" in result.output and ".flowsheetignore" in result.output
    text = site_text(tmp_path / "site")
    assert "hunter2-secret" not in text and "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in text
    assert "[redacted]" in text and "report.txt" in text and "model.ckpt" not in text
    assert not list((tmp_path / "site").rglob("*.ckpt"))

    result = CliRunner().invoke(main, ["build", str(logs), "-o", str(tmp_path / "open"), "--no-redact",
                                       "--redact", "^lr$"])
    assert result.exit_code == 0, result.output
    text = site_text(tmp_path / "open")
    assert "hunter2-secret" in text
    assert run.info.run_id in text


def test_exports_are_redacted_too(tmp_path):
    from click.testing import CliRunner

    import logger

    from reporter.cli import main

    logs = tmp_path / "runs"
    logger.set_log_dir(logs)
    try:
        with logger.start_run(run_name="leaky"):
            logger.log_params({"api_key": "key-that-must-not-leak", "lr": 0.1})
    finally:
        logger.set_log_dir(None)
    result = CliRunner().invoke(main, ["export", str(logs), "-o", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "report.html").read_text()
    assert "key-that-must-not-leak" not in text and "[redacted]" in text


PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecretbody\nmoresecret==\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("logged, published", [
    (f"key: {PEM}\nnext line", f"key: {MASK}\nnext line"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\ncut", MASK),  # cut short: masked to the end
    ("git clone https://ana:hunter2@github.com/x/y.git", f"git clone https://{MASK}@github.com/x/y.git"),
    ("ssh://git:p@ss@host/x", f"ssh://{MASK}@host/x"),
    ("Authorization: Bearer abc123def456", f"Authorization: Bearer {MASK}"),
    ("curl -H 'Authorization: basic dXNlcjpwYXNzd29yZA=='", f"curl -H 'Authorization: basic {MASK}'"),
    ('{"db_password":"hunter2","lr":0.1}', '{"db_password" ' + MASK),  # JSON text of a nested value
    ("param 'api_key' logged again with another value ('x'); keeping the first ('y')", f"param 'api_key' {MASK}"),
])
def test_secret_forms_in_any_text(logged, published):
    run = Run(run_id="r1", experiment_id="e1", name=logged, path="r1", params={"cmd": logged})
    safe, _ = redact(LogData(runs={"r1": run}), Redaction())
    assert safe.runs["r1"].name == published and safe.runs["r1"].params["cmd"] == published


@pytest.mark.parametrize("text", ["Basic configuration", "the bearer of bad news", "see https://example.com/a@b",
                                  "mail ana@example.com", "uses 512 max_tokens", "lr=0.1 --epochs 3"])
def test_ordinary_text_is_left_alone(text):
    run = Run(run_id="r1", experiment_id="e1", name=text, path="r1")
    safe, report = redact(LogData(runs={"r1": run}), Redaction())
    assert safe.runs["r1"].name == text and report.message() is None


TOKEN = "ghp_" + "A" * 36


def test_every_text_field_of_the_model_is_masked_even_ones_added_later():
    """The walk finds fields at run time: every str field (and the strings in every map and list) is masked."""
    import dataclasses

    from logger.model import MetricHistory, Problem

    def filled(cls, **fixed):
        values = {f.name: f"x {TOKEN}" for f in dataclasses.fields(cls) if f.init and f.type in ("str", "str | None")}
        return cls(**{**values, **fixed})

    # path and artifacts_dir are where files are read from: never shown, never masked
    run = filled(Run, path="r1", artifacts_dir="r1/artifacts", params={TOKEN: TOKEN}, tags={"t": [TOKEN]},
                 system={"env": {"x": TOKEN}}, metrics={TOKEN: MetricHistory(TOKEN)}, artifacts=[Artifact("ok.txt", 1)])
    data = LogData(experiments={"e": filled(Experiment, path="e")}, runs={run.run_id: run},
                   problems=[filled(Problem, line=3)])
    safe, _ = redact(data, Redaction())
    assert TOKEN[4:] not in repr(safe)
    assert TOKEN[4:] in repr(data)  # the reader's data is untouched


def test_masked_ids_and_keys_stay_unique_and_links_follow():
    parent_id, other_id = "ghp_" + "P" * 36, "ghp_" + "O" * 36
    runs = {rid: Run(run_id=rid, experiment_id="e1", name="n", path=rid) for rid in (parent_id, other_id)}
    runs["child"] = Run(run_id="child", experiment_id="e1", name="c", path="c", parent_run_id=parent_id,
                        params={parent_id: 1, other_id: 2})
    safe, _ = redact(LogData(runs=runs), Redaction())
    assert len(safe.runs) == 3 and all(rid == run.run_id for rid, run in safe.runs.items())
    child = safe.runs["child"]
    assert child.parent_run_id in safe.runs and child.parent_run_id.startswith(MASK)
    assert sorted(child.params.values()) == [1, 2] and all(k.startswith(MASK) for k in child.params)


def test_metric_histories_are_shared_not_copied():
    from logger.model import MetricHistory

    history = MetricHistory("loss")
    history.append(0.5, 0, 1)
    run = Run(run_id="r1", experiment_id="e1", name="n", path="r1", params={"token": "x"}, metrics={"loss": history})
    safe, _ = redact(LogData(runs={"r1": run}), Redaction())
    assert safe.runs["r1"].params["token"] == MASK and safe.runs["r1"].metrics["loss"] is history


def test_an_artifact_named_with_a_secret_is_left_out():
    run = Run(run_id="r1", experiment_id="e1", name="n", path="r1",
              artifacts=[Artifact(f"keys/{TOKEN}.txt", 1), Artifact("plot.png", 2)])
    safe, report = redact(LogData(runs={"r1": run}), Redaction())
    assert [a.path for a in safe.runs["r1"].artifacts] == ["plot.png"]
    assert "left out 1 artifact(s) whose names" in report.message()


def test_clean_names_are_left_exactly_as_logged():
    """Equal keys of different runs are different string objects: none may be taken for a masked one."""
    runs = {rid: Run(run_id=rid, experiment_id="e1", name="n", path=rid, params={"".join(["l", "r"]): 0.1})
            for rid in ("r1", "r2")}
    safe, report = redact(LogData(runs=runs), Redaction())
    assert [list(run.params) for run in safe.runs.values()] == [["lr"], ["lr"]] and report.message() is None
