"""Log folders for the site tests, written line by line with fixed times so builds are reproducible.

`write_site_logs(folder)` makes a small but complete log (nested runs, every artifact type, notes);
`write_hostile_logs(folder)` puts script-like and odd Unicode values in every field that reaches a page.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

T0 = 1_732_700_000_000  # 2024-11-27T09:33:20Z
HOUSES = "houses-3b4a0f52"
MNIST = "mnist-1c2d3e4f"
SWEEP, LASSO1, LASSO2, RIDGE, CNN = ("a" * 32, "b" * 32, "c" * 32, "d" * 32, "e" * 32)


def _lines(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps({"v": 1, **record}, ensure_ascii=False) + "\n")


def experiment(log_dir: Path, experiment_id: str, name: str, tags: dict | None = None, t: int = T0) -> Path:
    folder = log_dir / experiment_id
    records = [{"kind": "experiment", "t": t, "experiment_id": experiment_id, "name": name, "artifact_location": None}]
    records += [{"kind": "experiment_tag", "t": t + 1, "key": k, "value": v} for k, v in (tags or {}).items()]
    _lines(folder / "experiment.jsonl", records)
    return folder


def run(exp_folder: Path, run_id: str, name: str, t: int, *, parent: str | None = None, description: str | None = None,
        system: dict | None = None, params: dict | None = None, metrics: dict | None = None, tags: dict | None = None,
        status: str | None = "FINISHED", artifacts: dict[str, bytes] | None = None) -> Path:
    """metrics: key -> list of (step, value); each point one millisecond after the previous."""
    folder = exp_folder / run_id
    records = [{"kind": "start", "t": t, "run_id": run_id, "experiment_id": exp_folder.name, "name": name,
                "parent_run_id": parent, "description": description,
                "system": system if system is not None else {"user": "ana", "host": "gpu3"}}]
    clock = t
    for key, value in (params or {}).items():
        clock += 1
        records.append({"kind": "param", "t": clock, "key": key, "value": value})
    for key, points in (metrics or {}).items():
        for step, value in points:
            clock += 1
            records.append({"kind": "metric", "t": clock, "key": key, "value": value, "step": step})
    for key, value in (tags or {}).items():
        clock += 1
        records.append({"kind": "tag", "t": clock, "key": key, "value": value})
    for path, data in sorted((artifacts or {}).items()):
        target = folder / "artifacts" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        clock += 1
        records.append({"kind": "artifact", "t": clock, "path": path, "size": len(data)})
    if status:
        records.append({"kind": "end", "t": clock + 60_000, "status": status})
    _lines(folder / "run.jsonl", records)
    return folder


def png_bytes(width: int = 24, height: int = 16, color=(30, 120, 200)) -> bytes:
    """A solid-colour PNG made by hand (stored, uncompressed) so its bytes never depend on a library version."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + bytes(color) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")


MODEL_JSON = json.dumps({"flavor": "sklearn", "class": "Lasso", "module": "sklearn.linear_model",
                         "params": {"alpha": 0.1, "max_iter": 1000}, "versions": {"scikit-learn": "1.5.0"}},
                        indent=2, sort_keys=True).encode()


def write_site_logs(log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    houses = experiment(log_dir, HOUSES, "houses", {"team": "pricing",
                                                   "mlflow.note.content": "Predict **house prices**."})
    (houses / "notes.md").write_text("## Plan\n\n- try `lasso`\n- then ridge\n", encoding="utf-8")
    run(houses, SWEEP, "sweep", T0 + 1000, params={"search": "grid"}, tags={"kind": "parent"},
        system={"user": "ana", "host": "gpu3", "git_commit": "4e5f6a7b8c9d", "git_branch": "main", "git_dirty": True,
                "command": "train.py --sweep"})
    run(houses, LASSO1, "lasso-0.1", T0 + 2000, parent=SWEEP, description="First *lasso* try.",
        params={"C": 0.1, "model": "lasso"}, metrics={"rmse": [(0, 0.9), (1, 0.5), (2, 0.41)], "r2": [(2, 0.8)]},
        tags={"stage": "dev", "formula": "=1+2"},
        artifacts={"plots/curve.png": png_bytes(), "notes.txt": b"hello artifact\n",
                   "data/sample.csv": b"x,y\n1,2\n3,4\n", "report.md": b"# Report\n\nAll **good**.\n",
                   "page.html": b"<p>an html artifact</p>\n", "model/model.json": MODEL_JSON,
                   "model/model.pkl": b"\x80\x04binary\x00pickle"})
    run(houses, LASSO2, "lasso-1", T0 + 3000, parent=SWEEP, params={"C": 1.0, "model": "lasso"},
        metrics={"rmse": [(0, 0.8), (1, 0.6)], "r2": [(1, 0.7)]}, tags={"stage": "dev"})
    run(houses, RIDGE, "ridge", T0 + 4000, params={"C": 10, "model": "ridge"}, metrics={"rmse": [(0, 1.5)]},
        status="FAILED", artifacts={"logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
                                                 b'<rect width="20" height="20" fill="red"/></svg>'})
    mnist = experiment(log_dir, MNIST, "mnist")
    run(mnist, CNN, "cnn", T0 + 5000, params={"lr": 0.01}, metrics={"loss": [(0, 2.3), (1, "NaN"), (2, 1.1)]},
        tags={"mlflow.source.name": "cnn.py"})
    return log_dir


PAYLOADS = [
    "<script>window.__pwned=1;alert(1)</script>",
    "\"><img src=x onerror=\"window.__pwned=1;alert(2)\">",
    "javascript:window.__pwned=1",
    "</script><script>window.__pwned=1</script>",
    "' onmouseover='window.__pwned=1' x='",
    "\u202eRTL\u202c \u200bzero width 🧪 \u0000?",
]
HOSTILE_MD = ("# Notes <script>window.__pwned=1</script>\n\n[click me](javascript:window.__pwned=1) "
              "<img src=x onerror=\"window.__pwned=1\"> <a href=\"javascript:window.__pwned=1\">x</a>\n\n"
              "<iframe src=\"javascript:window.__pwned=1\"></iframe><svg onload=\"window.__pwned=1\"></svg>\n")
HOSTILE_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="window.top.__pwned=1">'
               b'<script>window.top.__pwned=1;alert(3)</script><rect width="10" height="10"/></svg>')
HOSTILE_HTML = b"<script>window.top.__pwned=1;alert(4)</script><img src=x onerror=\"window.top.__pwned=1\">"


def write_hostile_logs(log_dir: Path) -> Path:
    """Every field that reaches a page carries a payload; a page that runs any of them sets window.__pwned."""
    log_dir.mkdir(parents=True, exist_ok=True)
    p = PAYLOADS
    exp = experiment(log_dir, "evil-00000001", p[0] + p[5],
                     {p[1]: p[2], "mlflow.note.content": HOSTILE_MD, "team": p[3]})
    (exp / "notes.md").write_text(HOSTILE_MD, encoding="utf-8")
    system = {"user": p[1], "host": p[3], "command": p[0], "git_branch": p[4], "git_commit": p[2], "entry_point": p[0]}
    parent = run(exp, "f" * 32, p[3], T0 + 1000, description=HOSTILE_MD, system=system,
                 params={p[0]: p[1], "url": p[2], "rtl": p[5]}, metrics={p[1]: [(0, 1.0)], "ok": [(0, 2.0)]},
                 tags={p[4]: p[0], "mlflow.note.content": HOSTILE_MD, "link": p[2]},
                 artifacts={"evil.svg": HOSTILE_SVG, "evil.html": HOSTILE_HTML, "evil.md": HOSTILE_MD.encode(),
                            "evil.csv": ("a,b\n" + p[0] + "," + p[1] + "\n").encode(),
                            "evil.txt": p[3].encode(), "<img src=x onerror=alert(5)>.txt": b"name",
                            "model/model.json": json.dumps({"flavor": "sklearn", "class": p[0], "module": p[1],
                                                            "params": {p[0]: p[1]}, "versions": {p[3]: p[0]}}).encode()})
    run(exp, "0" * 32, p[1], T0 + 2000, parent=parent.name, params={"x": p[3]}, system={"user": p[5]})
    return log_dir


SORTING = "sorting-5e1f0a2b"
SORTING_ORDERS = ["metrics.m", "params.p", "params.q", "tags.t", "run_name", "start_time", "user", "status"]


def write_sorting_logs(log_dir: Path) -> Path:
    """Runs whose values make sorting and filtering differ easily: ties, NaN, Infinity, missing values,
    params that are numbers for some runs and words for others, names only in MLflow's system tags."""
    folder = experiment(log_dir, SORTING, "sorting")
    rows = [  # run id, name, start, user, params, metric m, tags
        ("1" * 32, "x", T0 + 1000, "ana", {"p": "10", "q": 3}, 0.5, {"t": "b"}),
        ("2" * 32, None, T0 + 2000, "bo", {"p": 9, "q": 1e-05}, None, {"t": "a"}),
        ("3" * 32, "y", T0 + 3000, None, {"p": "abc"}, "NaN", {}),
        ("4" * 32, "x", T0 + 1000, "ana", {"p": 10.0, "q": -0.0}, 0.5, {"t": "B"}),
        ("5" * 32, "z", T0 + 5000, "Ana", {"p": "9", "q": 2.5}, 1e-05, {"t": "é"}),
        ("6" * 32, "é", T0 + 6000, "bo", {"p": True, "q": 1.2345678901234567e19}, "Infinity", {"t": "10"}),
        ("7" * 32, "Z", None, "ana", {"q": 12345678901234567890}, 0.1 + 0.2, {"t": "9"}),
        ("8" * 32, "w", T0 + 8000, "cy", {"p": "", "q": "1e3"}, 1e16, {"t": ""}),
    ]
    for run_id, name, start, user, params, value, tags in rows:
        metrics = None if value is None else {"m": [(0, value)]}
        run(folder, run_id, name, start if start is not None else T0 + 9000, system={} if user is None else
            {"user": user, "git_commit": "0123456789abcdef"}, params=params, metrics=metrics, tags=tags,
            status="FAILED" if run_id[0] in "26" else "FINISHED")
    return log_dir
