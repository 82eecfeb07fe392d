"""Security audit: no secret reaches a published file, and `.flowsheetignore` hides what it lists.

The secrets site is built once (plus an export) from logs that put every secret form in every field
of the model; each (form, field) pair is then looked for, raw, in every output file and file name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import clean_env
from logwriting import (
    append,
    artifact,
    end,
    event,
    metric,
    param,
    start,
    tag,
    write_artifact,
    write_experiment,
    write_plain,
)

from logger.reader import read_logs

from reporter.cli import main
from reporter.config import BuildConfig
from reporter.site.build import BuildError, build
from reporter.site.ignore import IGNORE_FILE
from reporter.site.redact import Redaction, redact


def _token(code: str) -> tuple[str, list[str]]:
    token = "ghp_" + (code + "Q" * 40)[:40]
    return f"see {token} here", [token[4:]]


def _pem(code: str) -> tuple[str, list[str]]:
    body = [f"b3BlbnNzaC1rZXk{code}Body1", f"Q2h1bmsyOfThe{code}Body2"]
    return ("key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(body)
            + "\n-----END OPENSSH PRIVATE KEY-----\nafter"), body


def _pem_cut(code: str) -> tuple[str, list[str]]:
    body = [f"MIIEowIBAAKCAQEA{code}Cut1", f"U2Vjb25k{code}Cut2"]
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body), body


def _url(code: str) -> tuple[str, list[str]]:
    return f"clone https://ana:pw{code}Url9@git.example.com/x.git", [f"pw{code}Url9"]


def _bearer(code: str) -> tuple[str, list[str]]:
    return f"Authorization: Bearer br{code}Opaque77x", [f"br{code}Opaque77x"]


def _basic(code: str) -> tuple[str, list[str]]:
    return f"header Basic QmFz{code}aWM6cGFzcw==", [f"QmFz{code}aWM6cGFzcw"]


def _option(code: str) -> tuple[str, list[str]]:
    return f"train.py --password hunter{code}2 --lr 1", [f"hunter{code}2"]


FORMS = {"token": _token, "pem": _pem, "pemcut": _pem_cut, "url": _url, "bearer": _bearer, "basic": _basic,
         "option": _option}
ONE_LINE = ("token", "url", "bearer", "basic", "option")
# Where a secret can sit in the logs, each with its own copy of the secret so a leak names its field.
PLACES = ["startname", "runnametag", "description", "notetag", "expname", "exptag", "notes", "user", "command",
          "host", "gitbranch", "gitcommit", "entrypoint", "systemnested", "paramvalue", "tagvalue", "paramkey",
          "metrickey", "artifact", "problemvalue", "problemstatus", "plainname"]
LEAKS: list[tuple[str, str, str]] = []  # (form, place, raw secret)


def _secret(form: str, place: str) -> str:
    value, raws = FORMS[form](place + form)
    LEAKS.extend((form, place, raw) for raw in raws)
    return value


def _secret_logs(logs: Path) -> None:
    for form in FORMS:
        def s(place, form=form):
            return _secret(form, place)
        exp = write_experiment(logs, s("expname"), experiment_id=f"exp-{form}", tags={"team": s("exptag")})
        (exp / "notes.md").write_text(s("notes"))
        system = {"user": s("user"), "command": s("command"), "host": s("host"), "git_branch": s("gitbranch"),
                  "git_commit": s("gitcommit"), "entry_point": s("entrypoint"), "env": {"x": [s("systemnested")]}}
        first = exp / f"run-{form}-a"
        first.mkdir()
        art = s("artifact")
        append(first / "run.jsonl",
               start(f"run-{form}-a", f"exp-{form}", s("startname"), description=s("description"), system=system),
               param("note", s("paramvalue")), param(s("paramkey"), 1), tag("comment", s("tagvalue")),
               metric(s("metrickey"), 0.5), artifact(art, 1),
               tag("mlflow.note.content", s("notetag")), end())
        try:
            write_artifact(first, art)
        except OSError:
            pass  # a name no file system takes stays a logged name only
        second = exp / f"run-{form}-b"
        second.mkdir()
        bad_status = s("problemstatus") if form in ONE_LINE else "x"
        append(second / "run.jsonl", start(f"run-{form}-b", f"exp-{form}", "b", parent_run_id=f"run-{form}-a"),
               tag("mlflow.runName", s("runnametag")), param("note", "first"), param("note", s("problemvalue")),
               param("db_password", "first-db-pw"), param("db_password", f"dbpw{form}Problem"),
               event("end", status=bad_status), end())
        LEAKS.extend([(form, "problemkey", "first-db-pw"), (form, "problemkey", f"dbpw{form}Problem")])
    # ids made of tokens: an experiment folder, a run folder (and a child naming it), a plain log file
    token_id = "ghp_" + "IdOfRun" + "R" * 33
    experiment_id = "ghp_" + "IdOfExperiment" + "E" * 26
    plain_name = "ghp_" + "PlainFile" + "P" * 31
    LEAKS.extend([("token", "runid", token_id[4:]), ("token", "experimentid", experiment_id[4:]),
                  ("token", "plainfile", plain_name[4:])])
    exp = write_experiment(logs, "ids", experiment_id=experiment_id)
    for run_id, parent in [(token_id, None), ("child-of-token", token_id)]:
        (exp / run_id).mkdir()
        append(exp / run_id / "run.jsonl", start(run_id, experiment_id, "named", parent_run_id=parent), end())
    write_plain(logs / "plain" / f"{plain_name}.jsonl", [{"step": 0, "loss": 0.5}, {"step": 1, "loss": 0.4}])


def _output_text(folder: Path) -> dict[str, bytes]:
    """Every file of a site, by path, with its path in front so a secret in a file name is found too."""
    return {p.relative_to(folder).as_posix(): p.relative_to(folder).as_posix().encode() + b"\n" + p.read_bytes()
            for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="module")
def secret_outputs(tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("secrets")
    logs = root / "logs"
    LEAKS.clear()
    _secret_logs(logs)
    build(BuildConfig.from_options(logs, root / "site", environ={}))
    outputs = _output_text(root / "site")
    result = CliRunner().invoke(main, ["export", str(logs), "-o", str(root / "report.html"), "--quiet"])
    assert result.exit_code == 0, result.output
    outputs["export:report.html"] = (root / "report.html").read_bytes()
    return outputs


@pytest.mark.parametrize("form", sorted(FORMS))
def test_no_secret_form_reaches_any_output_file(secret_outputs, form):
    leaks = [f"{place}: {raw!r} in {path}" for leak_form, place, raw in LEAKS if leak_form == form
             for path, content in secret_outputs.items() if raw.encode() in content]
    assert not leaks, "\n".join(leaks)
    assert any(b"[redacted]" in content for content in secret_outputs.values())


def test_the_secrets_site_still_shows_every_run(secret_outputs):
    home = secret_outputs["index.html"]
    assert b"[redacted]" in home
    run_pages = [path for path in secret_outputs if path.startswith("runs/") and path.endswith("/index.html")]
    assert len(run_pages) == 2 * len(FORMS) + 3  # two runs per form, the token-id run, its child, the plain log


# ---------------------------------------------------------------------------- .flowsheetignore hides runs


def _ignore_logs(logs: Path) -> None:
    public = write_experiment(logs, "public-name", experiment_id="public")
    hidden = write_experiment(logs, "hidden-experiment-name", experiment_id="secret-exp")
    (hidden / "notes.md").write_text("hidden experiment notes")
    runs = [(public, "keep-1", "kept-run-name", None), (public, "run-abc", "hidden-abc-name", None),
            (public, "child-of-abc", "hidden-child-name", "run-abc"),
            (public, "private-7", "hidden-private-name", None), (hidden, "s-1", "hidden-s1-name", None)]
    for exp, run_id, name, parent in runs:
        (exp / run_id).mkdir()
        append(exp / run_id / "run.jsonl", start(run_id, exp.name, name, parent_run_id=parent),
               param("lr", 0.1), b'{"kind": "metric", "t": 1, "key": "' + name.encode() + b'-problem"', end())
    (logs / IGNORE_FILE).write_text("secret-exp/\n*/run-abc/\n**/private-*\n")


def test_flowsheetignore_hides_runs_their_children_and_whole_experiments(tmp_path):
    logs = tmp_path / "logs"
    _ignore_logs(logs)
    result = build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    assert result.runs == 1 and result.experiments == 1
    outputs = _output_text(tmp_path / "site")
    cli = CliRunner().invoke(main, ["export", str(logs), "-o", str(tmp_path / "report.html"), "--quiet"])
    assert cli.exit_code == 0, cli.output
    outputs["export"] = (tmp_path / "report.html").read_bytes()
    for hidden in ["hidden-abc-name", "hidden-child-name", "hidden-private-name", "hidden-s1-name", "run-abc",
                   "child-of-abc", "private-7", "s-1/", "secret-exp", "hidden-experiment-name", "hidden experiment"]:
        found = [path for path, content in outputs.items() if hidden.encode() in content]
        assert not found, f"{hidden!r} published in {found}"
    assert b"kept-run-name" in outputs["index.html"] and b"public/keep-1/run.jsonl" in outputs["index.html"]
    assert any(b"kept-run-name" in content for path, content in outputs.items() if path.startswith("runs/keep-1/"))
    assert "4 run(s)" in result.redaction and "1 experiment(s)" in result.redaction


def test_flowsheetignore_that_is_a_fifo_does_not_hang_the_build(tmp_path):
    logs = tmp_path / "logs"
    _ignore_logs(logs)
    (logs / IGNORE_FILE).unlink()
    os.mkfifo(logs / IGNORE_FILE)
    # A liveness bound, not a speed check: before the fix the build waited for a writer forever.
    done = subprocess.run([sys.executable, "-m", "reporter", "build", str(logs), "-o", str(tmp_path / "site")],
                          env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert IGNORE_FILE in done.stderr and "not a regular file" in done.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_flowsheetignore_that_is_a_folder_is_skipped_with_a_problem(tmp_path):
    logs = tmp_path / "logs"
    _ignore_logs(logs)
    (logs / IGNORE_FILE).unlink()
    (logs / IGNORE_FILE).mkdir()
    result = build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    assert result.runs == 5
    assert any(p.file == IGNORE_FILE and "not a regular file" in p.reason for p in result.problems)
    assert IGNORE_FILE in result.redaction


def test_flowsheetignore_linking_out_of_the_log_folder_is_not_read_and_the_build_refuses(tmp_path):
    logs = tmp_path / "logs"
    _ignore_logs(logs)
    outside = tmp_path / "shared-ignore"
    (logs / IGNORE_FILE).rename(outside)
    (logs / IGNORE_FILE).symlink_to(outside)
    with pytest.raises(BuildError, match="outside the log directory"):
        build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    assert not (tmp_path / "site").exists()


def test_flowsheetignore_linking_inside_the_log_folder_is_read(tmp_path):
    logs = tmp_path / "logs"
    _ignore_logs(logs)
    (logs / IGNORE_FILE).rename(logs / "ignore.txt")
    (logs / IGNORE_FILE).symlink_to("ignore.txt")
    assert build(BuildConfig.from_options(logs, tmp_path / "site", environ={})).runs == 1


def test_flowsheetignore_that_is_not_utf8_refuses_the_build(tmp_path):
    logs = tmp_path / "logs"
    _ignore_logs(logs)
    (logs / IGNORE_FILE).write_bytes(b"secret-exp/\n\xff\xfe*/run-abc/\n")
    with pytest.raises(BuildError, match=IGNORE_FILE):
        build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))


@pytest.fixture
def open_folder():
    """A folder user nobody can enter (pytest's own are the owner's only)."""
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-redact-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_flowsheetignore_that_cannot_be_read_refuses_the_build(open_folder):
    """As root every file is readable: the check runs in a child process that drops to user nobody."""
    logs = open_folder / "logs"
    _ignore_logs(logs)
    data = read_logs(logs)
    (logs / IGNORE_FILE).chmod(0o000)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what redact did, in one line
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            redact(data, Redaction(), logs)
            message = "built"
        except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
            message = f"{type(exc).__name__}: {exc}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    assert message.startswith("IgnoreFileError") and IGNORE_FILE in message and "Permission denied" in message
    assert "would publish" in message


def test_warnings_in_the_terminal_are_masked_like_the_pages(tmp_path):
    """A CI log is published too: a bad line holding a token is reported without the token."""
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    logs = tmp_path / "logs"
    (logs / "exp" / ("a" * 32)).mkdir(parents=True)
    (logs / "exp" / ("a" * 32) / "run.jsonl").write_text(
        '{"v":1,"kind":"start","t":1732700000000,"run_id":"' + "a" * 32 + '","experiment_id":"exp","name":"r"}\n'
        '{"v":1,"kind":"metric","t":1732700000001,"key":"loss","value":"' + token + '","step":0}\n')
    built = CliRunner().invoke(main, ["build", str(logs), "-o", str(tmp_path / "site")])
    assert built.exit_code == 0, built.output
    assert "warning:" in built.output and token not in built.output
    strict = CliRunner().invoke(main, ["build", str(logs), "-o", str(tmp_path / "site"), "--strict"])
    assert strict.exit_code != 0 and token not in strict.output


def test_a_log_folder_whose_path_looks_secret_keeps_its_artifacts(tmp_path):
    """Where files are read from is never shown, so it is never masked: masking it lost every artifact."""
    logs = tmp_path / "tokenizer study" / "logs"  # "token" and a space: the start of a --token value
    run_folder = logs / "exp" / ("b" * 32)
    (run_folder / "artifacts").mkdir(parents=True)
    (run_folder / "artifacts" / "notes.txt").write_text("kept")
    (run_folder / "run.jsonl").write_text(
        '{"v":1,"kind":"start","t":1732700000000,"run_id":"' + "b" * 32 + '","experiment_id":"exp","name":"r"}\n'
        '{"v":1,"kind":"artifact","t":1732700000001,"path":"notes.txt","size":4}\n')
    built = CliRunner().invoke(main, ["build", str(logs), "-o", str(tmp_path / "site")])
    assert built.exit_code == 0, built.output
    assert (tmp_path / "site" / "runs" / ("b" * 32) / "artifacts" / "notes.txt").read_text() == "kept"


def test_the_build_names_each_file_it_could_not_take(tmp_path):
    """A problem met while writing the site (here: a folder where an artifact goes) is named, not only counted."""
    logs = tmp_path / "logs"
    run_folder = logs / "exp" / ("c" * 32)
    (run_folder / "artifacts").mkdir(parents=True)
    (run_folder / "artifacts" / "plot.png").write_bytes(b"png")
    (run_folder / "run.jsonl").write_text(
        '{"v":1,"kind":"start","t":1732700000000,"run_id":"' + "c" * 32 + '","experiment_id":"exp","name":"r"}\n'
        '{"v":1,"kind":"artifact","t":1732700000001,"path":"plot.png","size":3}\n')
    site = tmp_path / "site"
    assert CliRunner().invoke(main, ["build", str(logs), "-o", str(site)]).exit_code == 0
    copy = site / "runs" / ("c" * 32) / "artifacts" / "plot.png"
    copy.unlink()
    copy.mkdir()  # the file's place is taken
    again = CliRunner().invoke(main, ["build", str(logs), "-o", str(site)])
    assert again.exit_code == 0 and "warning:" in again.output and "plot.png" in again.output, again.output


def test_exporting_only_ignored_runs_is_an_error_not_an_empty_report(tmp_path):
    logs = tmp_path / "logs"
    run_folder = logs / "secret-exp" / ("d" * 32)
    run_folder.mkdir(parents=True)
    (run_folder / "run.jsonl").write_text(
        '{"v":1,"kind":"start","t":1732700000000,"run_id":"' + "d" * 32 + '","experiment_id":"secret-exp","name":"r"}\n')
    (logs / ".flowsheetignore").write_text("secret-exp/\n")
    done = CliRunner().invoke(main, ["export", str(logs), "-o", str(tmp_path / "r.html")])
    assert done.exit_code == 2 and "nothing to export" in done.output, done.output
    assert not (tmp_path / "r.html").exists()
