"""Hostile and odd log content: the reader never raises, reports each bad line once, and the site still builds.

Property-based where it fits (hypothesis, example counts from hardening.knobs), plus one test per
extreme that is too big to generate at random (10 MB lines, 100,000 keys, 100,000 levels of nesting).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from hardening.knobs import BUILD_EXAMPLES, EXAMPLES, settings
from hypothesis import example, given
from hypothesis import strategies as st

from logger.experiments import experiment_id_for
from logger.reader import LogReader, read_logs

from reporter.config import BuildConfig
from reporter.site.build import build

RUN_ID = "0123456789abcdef0123456789abcdef"
EXPERIMENT = "exp-00000000"
T0 = 1_732_700_000_000

# Names that are awkward as file names, as slugs, or on other systems, and text in many scripts.
AWKWARD = ["..", ".", "...", "CON", "NUL", "aux", "COM1", "index.html", "static", "runs", "experiments",
           "runs-data.js", ".flowsheet-site", "a/b", "a\\b", "../../etc/passwd", "C:\\Windows", "/abs", "%2e%2e",
           " ", "\u202eevil.txt", "\u200f\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627",
           "\u4e2d\u6587\u540d\u5b57", "\u65e5\u672c\u8a9e", "\ud55c\uad6d\uc5b4", "\u0939\u093f\u0928\u094d\u0926\u0940",
           "\u0e44\u0e17\u0e22", "\u10e5\u10d0\u10e0", "\u1f00\u03bb\u03c6\u03b1", "\u00e9t\u00e9", "e\u0301t\u0065\u0301",
           "\U0001f9ea\U0001f525\U0001f468\u200d\U0001f469\u200d\U0001f467", "\ufeffbom", "Houses", "houses", "HOUSES!",
           "houses ", "h\u00f6uses", "{{7*7}}", "${7*7}", "<script>", "=cmd|' /C calc'!A0", "\u0000nul"]
names = st.one_of(st.sampled_from(AWKWARD), st.text(min_size=1, max_size=24))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(1 << 70), max_value=1 << 70),
                    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["NaN", "Infinity", "-Infinity"]),
                    names)
any_json = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                        max_leaves=8)
times = st.one_of(st.integers(min_value=T0, max_value=T0 + 10**6), st.sampled_from([0, -1, -(1 << 62), 1 << 62,
                                                                                      253402300800000 * 100]),
                  st.integers(min_value=-(1 << 64), max_value=1 << 64), any_json)
steps = st.one_of(st.integers(min_value=-5, max_value=50), st.integers(min_value=-(1 << 64), max_value=1 << 64),
                  any_json)
metric_values = st.one_of(st.floats(), st.integers(min_value=-(1 << 1100), max_value=1 << 1100),
                          st.sampled_from(["NaN", "Infinity", "-Infinity", "nan", "inf"]), any_json)


def record(kind, **fields):
    return {"v": 1, "kind": kind, **fields}


@st.composite
def run_events(draw) -> list[dict]:
    """Events of one run: mostly well formed, with wrong types, odd values, duplicates and disorder mixed in."""
    maybe = lambda strategy, good: draw(st.one_of(st.just(good), strategy)) if draw(st.booleans()) else good
    events = []
    if draw(st.booleans()):
        events.append(record("start", t=maybe(times, T0), run_id=maybe(st.one_of(names, any_json), RUN_ID),
                             experiment_id=maybe(names, EXPERIMENT), name=draw(names),
                             parent_run_id=maybe(names, None), description=maybe(names, None),
                             system=maybe(any_json, {"user": draw(names)})))
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["metric"] * 4 + ["param", "tag", "end", "resume", "artifact", "start",
                                                       "nonsense", None]))
        if kind == "metric":
            event = record("metric", t=draw(times), key=draw(st.one_of(names, any_json)),
                           value=draw(metric_values), step=draw(steps))
        elif kind in ("param", "tag"):
            event = record(kind, t=draw(times), key=draw(st.one_of(names, st.sampled_from(
                ["mlflow.runName", "mlflow.note.content", "mlflow.parentRunId"]))), value=draw(any_json))
        elif kind == "end":
            event = record("end", t=draw(times), status=draw(st.sampled_from(["FINISHED", "FAILED", "KILLED", "DONE"])))
        else:
            event = {**draw(st.dictionaries(st.text(max_size=8), any_json, max_size=3)), **record(kind, t=draw(times))}
        if draw(st.integers(0, 9)) == 0:
            del event[draw(st.sampled_from(sorted(event)))]  # a field missing
        events.append(event)
        if draw(st.integers(0, 9)) == 0:
            events.append(dict(event))  # a duplicate
    return events


def encode(event) -> bytes:
    # Python's json, not orjson: it writes NaN/Infinity tokens and huge integers, as careless writers do.
    return json.dumps(event, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


def raw_lines():
    """Lines as bytes: random bytes, truncated UTF-8, JSON of the wrong shape, valid events."""
    event = st.builds(encode, st.one_of(
        st.fixed_dictionaries({"v": st.just(1), "kind": st.just("metric"), "t": times, "key": names,
                               "value": metric_values, "step": steps}),
        st.fixed_dictionaries({"v": st.just(1), "kind": st.sampled_from(["param", "tag", "experiment_tag"]),
                               "t": times, "key": names, "value": any_json})))
    truncated = st.builds(lambda data, cut: data[:cut], st.text(min_size=1).map(lambda s: s.encode("utf-8")),
                          st.integers(0, 40))
    wrong_shape = st.builds(encode, any_json)
    return st.lists(st.one_of(st.binary(max_size=60), truncated, wrong_shape, event).map(
        lambda line: line.replace(b"\n", b" ")), max_size=30)


def parses_as_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def write_logs(root: Path, run_lines: list[bytes], experiment_lines: list[bytes], plain_lines: list[bytes]) -> dict:
    files = {f"{EXPERIMENT}/{RUN_ID}/run.jsonl": run_lines, f"{EXPERIMENT}/experiment.jsonl": experiment_lines,
             "plain/metrics.jsonl": plain_lines}
    for rel, lines in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(line + b"\n" for line in lines))
    return files


def check_problems(data, files: dict) -> None:
    """Each problem once, naming a file and (for a line) a line that exists; every line that is not even a
    JSON object is reported, exactly once (plain logs: unless it is the first, which decides the file's kind)."""
    assert len(data.problems) == len(set(data.problems))
    for problem in data.problems:
        assert problem.file in files, problem
        assert problem.line is None or 1 <= problem.line <= len(files[problem.file]), problem
        assert problem.reason and "Traceback" not in problem.reason
    for rel, lines in files.items():
        if rel.startswith("plain/"):
            continue
        bad = {number for number, line in enumerate(lines, 1) if line.strip() and not parses_as_object(line)}
        reported = [p.line for p in data.problems if p.file == rel and p.line in bad]
        assert sorted(reported) == sorted(bad), rel


@given(run=raw_lines(), experiment=raw_lines(), plain=raw_lines())
@settings()
def test_random_lines_never_make_the_reader_raise(tmp_path_factory, run, experiment, plain):
    root = tmp_path_factory.mktemp("logs")
    files = write_logs(root, run, experiment, plain)
    check_problems(read_logs(root), files)


@given(events=run_events(), cuts=st.lists(st.integers(0, 1 << 16), max_size=6))
@settings()
def test_odd_events_read_whole_or_in_pieces_give_the_same_model(tmp_path_factory, events, cuts):
    """A file appended to in arbitrary pieces (torn lines included) reads as if read at once; no problem twice."""
    lines = [encode(event) for event in events]
    data = b"".join(line + b"\n" for line in lines)
    whole_root, piece_root = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("pieces")
    files = write_logs(whole_root, lines, [], [])
    whole = read_logs(whole_root)
    check_problems(whole, files)
    write_logs(piece_root, [], [], [])
    path = piece_root / f"{EXPERIMENT}/{RUN_ID}/run.jsonl"
    reader = LogReader(piece_root)
    reported = []
    offsets = sorted({cut % (len(data) + 1) for cut in cuts} | {len(data)})
    done = 0
    for offset in offsets:
        with open(path, "ab") as file:
            file.write(data[done:offset])
        done = offset
        reported += reader.refresh(now=T0 / 1000).problems
    assert len(reported) == len(set(reported))
    assert sorted(reported, key=str) == sorted(whole.problems, key=str) == sorted(reader.data.problems, key=str)
    assert model_of(reader.data) == model_of(whole)


def model_of(data) -> dict:
    """The model as comparable plain data (NaN made comparable)."""
    def points(history):
        return [(s, t, "nan" if math.isnan(v) else v) for s, t, v in zip(history.steps, history.timestamps, history.values)]

    return {run_id: (run.name, run.experiment_id, run.params, run.tags, run.description, run.parent_run_id,
                     {key: points(h) for key, h in run.metrics.items()}, run.start_time, run.end_time)
            for run_id, run in data.runs.items()}


@st.composite
def hostile_log_trees(draw):
    """A few experiments and runs with awkward names and ids, as JSON lines."""
    tree = {}
    for e in range(draw(st.integers(1, 3))):
        name = draw(names)
        folder = draw(st.sampled_from([experiment_id_for(name), f"exp{e}"]))
        experiment_id = draw(st.one_of(st.just(folder), names))
        tags = [record("experiment_tag", t=T0, key=k, value=v)
                for k, v in draw(st.dictionaries(names, scalars, max_size=3)).items()]
        tags += [record("experiment_tag", t=T0, key="mlflow.note.content", value=draw(names))]
        tree[f"{folder}/experiment.jsonl"] = [record("experiment", t=T0, experiment_id=experiment_id, name=name,
                                                     artifact_location=None), *tags]
        for r in range(draw(st.integers(0, 3))):
            events = draw(run_events())
            tree[f"{folder}/run{r:02d}/run.jsonl"] = events
    return tree


# Found by chance once (it made the page count wrong): a run id that is the name of a page.
PAGE_NAMED_RUN = {
    "exp0/experiment.jsonl": [record("experiment", t=T0, experiment_id="index.html", name="index.html",
                                     artifact_location=None)],
    "exp0/run00/run.jsonl": [record("start", t=T0, run_id="index.html", experiment_id="index.html",
                                    name="index.html", parent_run_id=None, description=None)],
}


@given(tree=hostile_log_trees())
@example(tree=PAGE_NAMED_RUN)
@settings(BUILD_EXAMPLES)
def test_the_site_always_builds(tmp_path_factory, tree):
    root = tmp_path_factory.mktemp("tree")
    logs = root / "logs"
    for rel, events in tree.items():
        path = logs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(encode(event) + b"\n" for event in events))
    result = build(BuildConfig.from_options(logs, root / "site", environ={}))
    data = read_logs(logs)
    assert result.problems == data.problems
    assert len(set(result.problems)) == len(result.problems)
    assert (root / "site" / "index.html").is_file()
    # Files only: a run or experiment id such as `index.html` is a folder name in the site, not a page.
    written = {p.relative_to(root / "site").as_posix() for p in (root / "site").rglob("*.html") if p.is_file()}
    assert {"index.html", "compare.html"} <= written
    assert sum(1 for p in written if p.startswith("runs/")) == len(data.runs)
    # Nothing was written outside the site folder.
    assert sorted(p.name for p in root.iterdir()) == ["logs", "site"]
    shutil.rmtree(root)


# --------------------------------------------------------------------- extremes, one test each


def test_deeply_nested_json_is_a_problem_not_a_crash(tmp_path):
    deep = b"[" * 100_000
    deep_object = b'{"a":' * 100_000
    metric = encode(record("metric", t=T0, key="loss", value=1.0, step=0))
    files = write_logs(tmp_path, [deep, deep_object, metric], [deep], [encode({"loss": 1.0}), deep, deep_object])
    (tmp_path / "plain" / "deep.jsonl").write_bytes(deep + b"\n")  # not a plain log: ignored
    data = read_logs(tmp_path)
    check_problems(data, files)
    assert [p.line for p in data.problems if p.file == "plain/metrics.jsonl"] == [2, 3]
    assert list(data.runs[RUN_ID].metrics["loss"].values) == [1.0]


def test_a_model_json_artifact_nested_100000_deep_still_builds(tmp_path):
    files = write_logs(tmp_path / "logs", [encode(record("start", t=T0, run_id=RUN_ID, experiment_id=EXPERIMENT,
                                                         name="deep", parent_run_id=None, description=None,
                                                         system={}))], [], [])
    artifacts = tmp_path / "logs" / EXPERIMENT / RUN_ID / "artifacts"
    (artifacts / "model").mkdir(parents=True)
    (artifacts / "model" / "model.json").write_bytes(b"[" * 100_000)
    (artifacts / "deep.json").write_bytes(b'{"a":' * 100_000)
    assert files
    result = build(BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={}))
    assert result.runs == 1 and (tmp_path / "site" / "runs" / RUN_ID / "index.html").is_file()


def test_huge_lines_are_read_or_refused_whole(tmp_path):
    ten_mb = "x" * (10 << 20)
    big_key_metric = encode(record("metric", t=T0, key="k" * 300, value=1.0, step=0))
    lines = [encode(record("start", t=T0, run_id=RUN_ID, experiment_id=EXPERIMENT, name="huge", parent_run_id=None,
                           description=None, system={})),
             encode(record("param", t=T0, key="big", value=ten_mb)),  # over the 6,000-character limit
             encode(record("tag", t=T0, key="mlflow.note.content", value="y" * (1 << 20))),
             encode(record("param", t=T0, key="small", value="z" * 6000)),
             big_key_metric,
             b"{" + b"x" * (10 << 20),  # a 10 MB line of garbage
             encode(record("metric", t=T0, key="loss", value=0.5, step=1))]
    files = write_logs(tmp_path / "logs", lines, [], [encode({"step": 1, "note": ten_mb, "loss": 2.0})])
    data = read_logs(tmp_path / "logs")
    check_problems(data, files)
    reasons = {p.line: p.reason for p in data.problems if p.file.endswith("run.jsonl")}
    assert sorted(reasons) == [2, 3, 5, 6]
    assert "6000" in reasons[2] and "250" in reasons[5] and len(reasons[6]) < 300  # the reason does not quote 10 MB
    run = data.runs[RUN_ID]
    assert run.params == {"small": "z" * 6000} and list(run.metrics["loss"].values) == [0.5]
    [plain] = [r for r in data.runs.values() if r.source == "plain"]
    assert list(plain.metrics["loss"].values) == [2.0]
    result = build(BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={}))
    assert result.runs == 2
    assert max(p.stat().st_size for p in (tmp_path / "site").rglob("*.html")) < (1 << 20)


def test_a_hundred_thousand_metric_keys_are_read(tmp_path):
    keys = 100_000
    lines = [encode(record("start", t=T0, run_id=RUN_ID, experiment_id=EXPERIMENT, name="wide", parent_run_id=None,
                           description=None, system={}))]
    lines += [b'{"v":1,"kind":"metric","t":%d,"key":"m%d","value":%d,"step":0}' % (T0 + i, i, i) for i in range(keys)]
    write_logs(tmp_path / "logs", lines, [], [])
    run = read_logs(tmp_path / "logs").runs[RUN_ID]
    assert len(run.metrics) == keys and run.metrics["m99999"].latest == 99999.0


def test_a_site_with_a_hundred_thousand_metric_keys_builds(tmp_path):
    lines = [encode(record("start", t=T0, run_id=RUN_ID, experiment_id=EXPERIMENT, name="wide", parent_run_id=None,
                           description=None, system={}))]
    lines += [b'{"v":1,"kind":"metric","t":%d,"key":"m%d","value":%d,"step":0}' % (T0 + i, i, i) for i in range(100_000)]
    write_logs(tmp_path / "logs", lines, [], [])
    result = build(BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={}))
    assert result.runs == 1


def test_names_that_collide_after_slugging_get_their_own_experiments(log_dir, tmp_path):
    import logger

    colliding = ["Houses", "houses", "HOUSES!", "houses ", " houses", "h.o.u.s.e.s", "..", "CON", "index.html",
                 "\u202ehouses", "\U0001f3e0 houses"]
    ids = {name: logger.set_experiment(name).experiment_id for name in colliding}
    for name in colliding:
        with logger.start_run(experiment_id=ids[name], run_name=name):
            logger.log_metric("m", 1.0)
    assert len(set(ids.values())) == len(colliding)
    data = read_logs(log_dir)
    assert data.problems == []
    assert sorted(e.name for e in data.experiments.values()) == sorted(colliding)
    result = build(BuildConfig.from_options(log_dir, tmp_path / "site", environ={}))
    assert result.experiments == len(colliding)
    experiment_pages = list((tmp_path / "site" / "experiments").glob("*/index.html"))
    assert len(experiment_pages) == len(colliding)


def test_site_folders_of_distinct_ids_never_collide(tmp_path):
    """An id chosen to equal another id's folder name must not overwrite that run's page."""
    from reporter.site.urls import site_id

    logs = tmp_path / "logs"
    spaced = "run one"
    crafted = site_id(spaced)  # a plain-looking id equal to the folder the first one gets
    for run_id in (spaced, crafted):
        folder = logs / EXPERIMENT / run_id.replace(" ", "_")
        folder.mkdir(parents=True)
        (folder / "run.jsonl").write_bytes(encode(record("start", t=T0, run_id=run_id, experiment_id=EXPERIMENT,
                                                         name=run_id, parent_run_id=None, description=None,
                                                         system={})) + b"\n")
    result = build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    assert result.runs == 2
    assert len(list((tmp_path / "site" / "runs").glob("*/index.html"))) == 2


@given(events=run_events(), torn=st.binary(max_size=40))
@settings(EXAMPLES // 2)
def test_a_hostile_run_file_can_still_be_resumed(tmp_path_factory, events, torn):
    from logger.run import Run

    root = tmp_path_factory.mktemp("resume")
    write_logs(root, [encode(event) for event in events], [], [])
    folder = root / EXPERIMENT / RUN_ID
    with open(folder / "run.jsonl", "ab") as file:
        file.write(torn.replace(b"\n", b" "))  # maybe a torn last line too
    run = Run.resume(folder)
    run.log_metric("resumed", 1.5, step=7)
    run.end()
    data = read_logs(root)
    [result] = data.runs.values()
    assert result.status == "FINISHED"
    assert list(result.metrics["resumed"].values) == [1.5] and list(result.metrics["resumed"].steps) == [7]
    assert len(data.problems) == len(set(data.problems))
