"""Hugging Face Trainer output folders: `trainer_state.json`, or `checkpoint-N/trainer_state.json` while training.

The Trainer saves its `TrainerState` (transformers/trainer_callback.py) as one JSON object: into each
`checkpoint-<global_step>/` it writes (transformers/trainer.py, `_save_checkpoint`) and, when the script
calls `trainer.save_state()`, into the output folder itself. `log_history` lists every `Trainer.log`
call: a flat object of numbers with the `step` (global step) it was logged at and, while training,
the `epoch`. The file is written whole each time, so a folder is read again whole when it changes.

One output folder is one run (`owns`: its checkpoints and its `runs/` TensorBoard folder are the
run's, not runs of their own); a hyperparameter search writes one such folder per trial (`run-<n>/`).

Choices where the format leaves room:
- The most complete state is read: the output folder's own trainer_state.json, else the checkpoint
  with the highest step. One that cannot be read is a problem, and the next one is read instead.
- Every key of a `log_history` entry but `step` is a metric at that step (`epoch` too), keys as they
  are (`loss`, `eval_loss`, `train_runtime`); a value that is not a number is left out and reported.
- The state's counters (`global_step`, `max_steps`, `logging_steps`...) are params; `best_metric`,
  `best_model_checkpoint`, `best_global_step` and `trial_name` are tags; a search trial's
  `trial_params` are params named `trial.<name>`.
- The model's `config.json` beside the state read (else in the output folder) gives `model.<key>`
  params for its scalar keys, and `model.architectures`. `training_args.bin` is a pickle: never read.
- The state has no times: every point carries the time the state file was last written, and the run
  starts at the oldest state file's time. FINISHED when `global_step` reached `max_steps`; otherwise
  RUNNING or FINISHED by the time of the last write (logger/sources/units.py).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from ..foreign import flatten
from ..format import MAX_KEY_LENGTH, MAX_VALUE_LENGTH, NON_FINITE
from ..line_checks import short, type_name
from ..model import MetricHistory, Problem, Run
from ..safepath import open_inside
from . import Claim, Listing, register
from .units import UNKNOWN_END, UnitRead, UnitSource, file_stamp, run_id_for

STATE_FILE = "trainer_state.json"
CONFIG_FILE = "config.json"
CHECKPOINT = re.compile(r"checkpoint-(\d+)")
MAX_STATE_BYTES = 128 << 20
MAX_CONFIG_BYTES = 4 << 20
MAX_MODEL_PARAMS = 200
MAX_PROBLEMS = 50  # per unit: then one line says how many more
STEP_RANGE = range(-(1 << 63), 1 << 63)

Types = tuple[type, ...]
NUMBER: Types = (int, float)
INTEGER: Types = (int,)
TEXT: Types = (str,)
STATE_PARAMS: dict[str, Types] = {"global_step": INTEGER, "max_steps": INTEGER, "num_train_epochs": NUMBER,
                "train_batch_size": INTEGER, "logging_steps": NUMBER, "eval_steps": NUMBER, "save_steps": NUMBER,
                "num_input_tokens_seen": INTEGER, "total_flos": NUMBER, "is_hyper_param_search": (bool,)}
STATE_TAGS: dict[str, Types] = {"best_metric": NUMBER, "best_model_checkpoint": TEXT, "best_global_step": INTEGER,
              "trial_name": TEXT}


def _checkpoints(names) -> list[str]:
    """The `checkpoint-N` folders among `names`, highest step first."""
    found = [(int(match.group(1)), name) for name in names if (match := CHECKPOINT.fullmatch(name))]
    return [name for _, name in sorted(found, reverse=True)]


def _is_regular(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink()
    except OSError:
        return False


@register
class HuggingFaceSource(UnitSource):
    name = "huggingface"
    label = "Hugging Face Trainer"
    order = 40

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        if STATE_FILE in listing.regular:
            return Claim([listing.path], owns=True)
        for folder in _checkpoints(listing.dirs):
            if listing.has_dir_file(folder, STATE_FILE):
                return Claim([listing.path], owns=True)
        return None

    def _state_files(self, unit: Path) -> list[Path]:
        """Where a state may be, most complete first: the output folder's own, then each checkpoint's."""
        try:
            with os.scandir(unit) as entries:
                folders = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        except OSError:
            folders = []
        return [unit / STATE_FILE] + [unit / name / STATE_FILE for name in _checkpoints(folders)]

    def stamp(self, unit: Path) -> tuple:
        # The state and config files alone: a checkpoint's weights are never read, so never walked.
        files = self._state_files(unit)
        return tuple(file_stamp(path) for state in files for path in (state, state.parent / CONFIG_FILE))

    def read_unit(self, unit: Path) -> UnitRead:
        problems: list[Problem] = []
        files = [path for path in self._state_files(unit) if _is_regular(path)]
        state, chosen, written = None, unit, 0
        for path in files:
            loaded, mtime_ns, reason = self._load_json(path, MAX_STATE_BYTES)
            if reason is None and not isinstance(loaded, dict):
                reason = f"not a JSON object (a {type_name(loaded)})"
            if reason is not None:
                problems.append(Problem(self.rel(path), None, reason))
                continue
            state, chosen, written = loaded, path, mtime_ns // 1_000_000
            break
        if state is None:
            return UnitRead(problems=problems)
        run = Run(run_id=run_id_for(self.name, self.rel(unit)), experiment_id="", name=unit.name, path=str(unit),
                  status=UNKNOWN_END, source=self.name, last_time=written)
        run.start_time = min([_mtime_ms(path, written) for path in files] + [written])
        reasons: list[str] = []
        _fields(state, STATE_PARAMS, run.params, reasons)
        _fields(state, STATE_TAGS, run.tags, reasons)
        run.tags["trainer_state"] = chosen.relative_to(unit).as_posix()
        trial_params = state.get("trial_params")
        if isinstance(trial_params, dict):
            flat, notes = flatten(trial_params, ".", prefix="trial.")
            run.params.update(flat)  # no state param has a "." in its name: nothing is overwritten
            reasons += notes
        elif trial_params is not None:
            reasons.append(f"'trial_params' must be an object, got {type_name(trial_params)}")
        _read_history(state.get("log_history"), written, run.metrics, reasons)
        global_step, max_steps = run.params.get("global_step"), run.params.get("max_steps")
        if isinstance(global_step, int) and isinstance(max_steps, int) and global_step >= max_steps > 0:
            run.status, run.end_time = "FINISHED", written
        problems += _capped(self.rel(chosen), reasons)
        config = chosen.parent / CONFIG_FILE
        problems += self._read_config(config if _is_regular(config) else unit / CONFIG_FILE, run.params)
        return UnitRead(runs=[run], problems=problems)

    def _load_json(self, path: Path, limit: int) -> tuple[Any, int, str | None]:
        """The JSON in `path`, its modification time (ns) and None; or why it could not be read."""
        try:
            with open_inside(path, self.root) as file:
                mtime_ns = os.fstat(file.fileno()).st_mtime_ns
                data = file.read(limit + 1)
        except OSError as error:
            return None, 0, f"cannot read: {error.strerror or error}"
        if len(data) > limit:
            return None, mtime_ns, f"larger than {limit >> 20} MiB; not read"
        try:
            return json.loads(data), mtime_ns, None  # Python's json reads the NaN the Trainer writes for a NaN loss
        except json.JSONDecodeError as error:
            if _cut_off(error):
                return None, mtime_ns, "incomplete JSON (cut off: still being written?)"
            return None, mtime_ns, f"malformed JSON ({error})"
        except (ValueError, RecursionError) as error:  # invalid UTF-8, a number too long, nesting too deep
            return None, mtime_ns, f"not readable as JSON ({type(error).__name__}: {short(str(error))})"

    def _read_config(self, path: Path, params: dict[str, Any]) -> list[Problem]:
        """The model config's scalar keys as `model.<key>` params."""
        if not _is_regular(path):
            return []
        config, _, reason = self._load_json(path, MAX_CONFIG_BYTES)
        if reason is None and not isinstance(config, dict):
            reason = f"not a JSON object (a {type_name(config)})"
        if reason is not None:
            return [Problem(self.rel(path), None, reason)]
        # Nested settings (id2label, a vision config) and unset ones are not params; the rest follow the
        # rules of every source's params (logger/foreign.py): an overlong value is left out and named.
        wanted = [(key, value) for key, value in config.items() if value is not None
                  and (isinstance(value, (str, int, float)) or isinstance(value, list) and key == "architectures")]
        flat, notes = flatten(dict(wanted[:MAX_MODEL_PARAMS]), ".", prefix="model.")
        params.update(flat)
        return [Problem(self.rel(path), None, note) for note in notes]


def _cut_off(error: json.JSONDecodeError) -> bool:
    """Whether the document failed only because it ends too soon (the Trainer writing it as we read)."""
    rest = error.doc[error.pos:].rstrip()
    return not rest or error.msg.startswith("Unterminated string") or \
        any(word.startswith(rest) for word in ("true", "false", "null", *NON_FINITE))


def _mtime_ms(path: Path, default: int) -> int:
    try:
        return os.stat(path).st_mtime_ns // 1_000_000
    except OSError:
        return default


def _fields(state: dict, wanted: dict[str, Types], into: dict[str, Any], reasons: list[str]) -> None:
    """The state's fields named in `wanted` (name -> types allowed), into params or tags; null ones left out."""
    for name, types in wanted.items():
        value = state.get(name)
        if value is None:
            continue
        if not isinstance(value, types) or isinstance(value, bool) and bool not in types \
                or isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            reasons.append(f"{name!r} must be {_words(types)}, got {type_name(value)} {short(value)}")
            continue
        into[name] = value


def _words(types: Types) -> str:
    words: dict[Types, str] = {NUMBER: "a number", INTEGER: "an integer", TEXT: "a string"}
    return words.get(types, "a boolean")


def _read_history(history: Any, time_ms: int, metrics: dict[str, MetricHistory], reasons: list[str]) -> None:
    """`log_history` entries into metrics: each key but `step` a metric at the entry's step."""
    if history is None:
        return
    if not isinstance(history, list):
        reasons.append(f"'log_history' must be a list, got {type_name(history)}")
        return
    refused: set[str] = set()
    for index, entry in enumerate(history):
        where = f"log_history[{index}]"
        if not isinstance(entry, dict):
            reasons.append(f"{where} is not an object (a {type_name(entry)}); skipped")
            continue
        step = entry.get("step")
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if not isinstance(step, int) or isinstance(step, bool) or step not in STEP_RANGE:
            reasons.append(f"{where}: 'step' must be an integer, got {type_name(step)} {short(step)}; skipped")
            continue
        for key, value in entry.items():
            if key == "step":
                continue
            number = _number(value)
            if number is None or not key or len(key) > MAX_KEY_LENGTH:
                if key not in refused:
                    refused.add(key)
                    what = "its name is empty or too long" if number is not None else \
                        f"{type_name(value)} {short(value)} is not a number"
                    reasons.append(f"{where}: {short(key)}: {what}; such values are left out")
                continue
            history_of_key = metrics.get(key)
            if history_of_key is None:
                history_of_key = metrics[key] = MetricHistory(key)
            history_of_key.append(number, step, time_ms)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer past the doubles
        return math.inf if value > 0 else -math.inf


def _capped(rel: str, reasons: list[str]) -> list[Problem]:
    problems = [Problem(rel, None, reason) for reason in reasons[:MAX_PROBLEMS]]
    if len(reasons) > MAX_PROBLEMS:
        problems.append(Problem(rel, None, f"{len(reasons) - MAX_PROBLEMS} more problems like these"))
    return problems
