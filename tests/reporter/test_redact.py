import pytest

from logger.model import Artifact, Experiment, LogData, Run
from reporter.redact import MASK, Redaction, redact


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
