"""Security audit, reader: no byte or value in a log file makes `read_logs` or the build raise.

The audit's case was one plain-log line, `{"time": "0001-01-01"}`: turning that date into milliseconds
overflowed, the reader raised, and `serve` stopped rebuilding for good. Here that line, and random
bytes and JSON values with extreme times (years 1 and 9999, huge and negative numbers), go into
run.jsonl, experiment.jsonl and a plain *.jsonl.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hardening.knobs import BUILD_EXAMPLES, EXAMPLES, settings
from hypothesis import example, given
from hypothesis import strategies as st

from logger.reader import read_logs

from reporter.config import BuildConfig
from reporter.live.rebuild import Rebuilder
from reporter.site.build import build

RUN_ID = "0123456789abcdef0123456789abcdef"
EXPERIMENT = "exp-00000000"
T0 = 1_732_700_000_000
EXTREME_DATES = ["0001-01-01", "0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
                 "9999-12-31", "9999-12-31T23:59:59.999999", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z",
                 "1970-01-01", "2024-02-29T12:00:00+05:30", "not a date", ""]
EXTREME_NUMBERS = [0, -1, 1 << 62, -(1 << 62), (1 << 63) - 1, -(1 << 63), 1 << 63, 1 << 64, -(1 << 64), 1 << 1100,
                   1e11, -1e11, 1e300, -1e300, 5e-324, 253402300800, -62135596800, 253402300800000,
                   -62135596800000, float("nan"), float("inf"), float("-inf")]
times = st.one_of(st.sampled_from(EXTREME_DATES), st.sampled_from(EXTREME_NUMBERS),
                  st.integers(min_value=-(1 << 70), max_value=1 << 70), st.floats(),
                  st.datetimes().map(lambda moment: moment.isoformat()),
                  st.none(), st.booleans(), st.text(max_size=12))
scalars = st.one_of(times, st.sampled_from(["NaN", "Infinity", "-Infinity"]), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=6)
field_names = st.sampled_from(["time", "timestamp", "t", "step", "epoch", "value", "key", "kind", "v", "loss"])


def encode(value) -> bytes:
    # Python's json writes NaN/Infinity tokens and integers of any size, as careless writers do.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", errors="surrogatepass").replace(b"\n", b" ")


def event_lines(kinds: list[str]):
    """Lines that look like events of the given kinds, with any value in any field, or random bytes."""
    event = st.builds(lambda kind, t, extra: {"v": 1, "kind": kind, "t": t, **extra}, st.sampled_from(kinds), times,
                      st.dictionaries(field_names, values, max_size=4))
    return st.lists(st.one_of(event.map(encode), st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))),
                    max_size=12)


run_lines = event_lines(["start", "metric", "param", "tag", "end", "resume", "artifact"])
experiment_lines = event_lines(["experiment", "experiment_tag"])
plain_record = st.builds(lambda name, t, extra: {**extra, name: t}, st.sampled_from(["time", "timestamp"]), times,
                         st.dictionaries(field_names, st.one_of(times, scalars), max_size=4))
plain_lines = st.lists(st.one_of(plain_record.map(encode), plain_record.map(encode),
                                 st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))), max_size=12)


def write_logs(root: Path, run: list[bytes], experiment: list[bytes], plain: list[bytes]) -> None:
    files = {f"{EXPERIMENT}/{RUN_ID}/run.jsonl": run, f"{EXPERIMENT}/experiment.jsonl": experiment,
             "plain/metrics.jsonl": plain}
    for rel, lines in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_a_plain_log_with_the_year_one_is_a_problem_not_a_crash(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, [], [], [b'{"time": "0001-01-01", "loss": 1.0}', b'{"time": "9999-12-31T23:59:59-14:00"}',
                              b'{"time": 1700000000, "loss": 0.5}'])
    data = read_logs(logs)
    reasons = {p.line: p.reason for p in data.problems if p.file == "plain/metrics.jsonl"}
    assert "0001-01-01" in reasons[1] and "out of range" in reasons[1]
    [run] = [run for run in data.runs.values() if run.source == "plain"]
    assert list(run.metrics["loss"].values) == [1.0, 0.5]  # the line's numbers are kept, without its time
    result = build(BuildConfig.from_options(logs, tmp_path / "site", environ={}), data=data)
    assert result.runs == 2 and set(data.problems) <= set(result.problems)


def test_serve_keeps_rebuilding_after_a_line_with_the_year_one(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, [], [], [b'{"loss": 1.0}'])
    rebuilder = Rebuilder(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    assert rebuilder.rebuild(full=True).error is None
    with open(logs / "plain" / "metrics.jsonl", "ab") as file:
        file.write(b'{"time": "0001-01-01", "loss": 2.0}\n')
    outcome = rebuilder.rebuild()
    assert outcome.error is None and any("0001-01-01" in p.reason for p in outcome.problems)
    with open(logs / "plain" / "metrics.jsonl", "ab") as file:
        file.write(b'{"loss": 3.0}\n')
    rebuilder.rebuild()
    [run] = [run for run in rebuilder.reader.data.runs.values() if run.source == "plain"]
    assert list(run.metrics["loss"].values) == [1.0, 2.0, 3.0]


@given(run=run_lines, experiment=experiment_lines, plain=plain_lines)
@settings(EXAMPLES)
def test_no_value_or_byte_makes_the_reader_raise(tmp_path_factory, run, experiment, plain):
    root = tmp_path_factory.mktemp("logs")
    write_logs(root, run, experiment, plain)
    data = read_logs(root)
    assert all(p.reason and "Traceback" not in p.reason for p in data.problems)
    shutil.rmtree(root)


@given(run=run_lines, experiment=experiment_lines, plain=plain_lines)
@example(run=[b'{"v":1,"kind":"metric","t":-9223372036854775808,"key":"x","value":1e308,"step":0}'],
         experiment=[b'{"v":1,"kind":"experiment","t":9223372036854775807,"name":"e","experiment_id":null}'],
         plain=[b'{"time": "0001-01-01", "loss": 1}', b'{"timestamp": "9999-12-31T23:59:59-14:00"}'])
@settings(BUILD_EXAMPLES)
def test_no_value_or_byte_makes_the_build_raise(tmp_path_factory, run, experiment, plain):
    root = tmp_path_factory.mktemp("tree")
    write_logs(root / "logs", run, experiment, plain)
    data = read_logs(root / "logs")
    result = build(BuildConfig.from_options(root / "logs", root / "site", environ={}), data=data)
    assert result.runs == len(data.runs) and (root / "site" / "index.html").is_file()
    shutil.rmtree(root)
