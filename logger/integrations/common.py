"""What every integration shares: which run a training call logs to, patching and unpatching a library,
turning a library's values into params, and logging that warns instead of breaking training."""

from __future__ import annotations

import contextlib
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from .. import events
from ..format import AUTOLOGGING_TAG, MAX_KEY_LENGTH, MAX_VALUE_LENGTH

_session_lock = threading.Lock()
_session_active = [False]
_silenced: set[str] = set()  # flavors whose autolog(silent=True) asked for no warnings


@contextlib.contextmanager
def session() -> Iterator[bool]:
    """True for the outermost autologged call in the process; the calls it makes (a pipeline's steps, a
    search's candidates, also in worker threads) get False and pass straight through, so a fit logs once."""
    with _session_lock:
        outermost = not _session_active[0]
        _session_active[0] = True
    try:
        yield outermost
    finally:
        if outermost:
            with _session_lock:
                _session_active[0] = False


@contextlib.contextmanager
def training_run(flavor: str, tags: dict | None = None) -> Iterator[Any]:
    """The run a training call logs to: the active run, left open; or a new one that ends with the call,
    FINISHED, or FAILED (KILLED on Ctrl-C) when the call raises, which is raised again."""
    from .. import fluent

    active = fluent.active_run()
    run = active if active is not None else fluent.start_run()
    owned = active is None
    with quietly(flavor, "tags"):
        run.set_tags({AUTOLOGGING_TAG: flavor, **(tags or {})})
    if not owned:
        yield run
        return
    with run:
        yield run


def claim_run(given=None) -> tuple[Any, bool]:
    """For a callback: `given`, or the active run, or a new run (then True: the callback ends it)."""
    from .. import fluent

    if given is not None:
        return given, False
    active = fluent.active_run()
    return (active, False) if active is not None else (fluent.start_run(), True)


def child_run(parent, run_name: str | None = None, tags: dict | None = None):
    """A run nested under `parent`, in its experiment, not made active (several threads may add them)."""
    from .. import fluent
    from ..run import Run

    child = Run.create(parent.folder.parent, parent.info.experiment_id, run_name, parent_run_id=parent.info.run_id,
                       tags=tags)
    fluent._register(child)  # ended at exit even if logging it fails part way
    return child


@contextlib.contextmanager
def quietly(flavor: str, what: str) -> Iterator[None]:
    """Logging that fails warns and lets training go on (MLflow's autologging does the same)."""
    try:
        yield
    except Exception as error:
        if flavor not in _silenced:
            warnings.warn(f"flowsheet {flavor} autologging could not log {what}: {type(error).__name__}: {error}",
                          stacklevel=3)


def set_silent(flavor: str, silent: bool) -> None:
    if silent:
        _silenced.add(flavor)
    else:
        _silenced.discard(flavor)


def param_values(params: dict) -> dict[str, Any]:
    """A library's values as params: JSON scalars kept, anything else as its text, cut to MLflow's limits."""
    found = {}
    for key, value in params.items():
        key = str(key)[:MAX_KEY_LENGTH]
        if hasattr(value, "item") and type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
            value = value.item()
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            value = value[:MAX_VALUE_LENGTH]
        found[key] = value
    return found


def log_params(run, params: dict, flavor: str) -> None:
    """Log what is new; a param the run already holds with another value (a second fit in one run) is left
    as it was, with a warning, since params are immutable."""
    values = param_values(params)
    known = run.data.params
    clashing = sorted(key for key, value in values.items() if key in known and known[key] != _stored(value))
    fresh = {key: value for key, value in values.items() if key not in clashing}
    with quietly(flavor, "params"):
        run.log_params(fresh)
    if clashing and flavor not in _silenced:
        warnings.warn(f"flowsheet {flavor} autologging: run {run.info.run_id} already has other values for "
                      f"{', '.join(clashing[:10])}; those params were not logged again", stacklevel=3)


def _stored(value):
    """A value as the run keeps it once logged (NaN and the infinities as their strings)."""
    return events.plain_value(value, "param")


def call_arguments(function: Callable, args: tuple, kwargs: dict, unlogged: tuple[str, ...] = ()) -> dict:
    """The arguments of a call by name, defaults filled in, less `unlogged` and *args/**kwargs (MLflow logs a
    training function's arguments as params this way)."""
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {}
    bound.apply_defaults()
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    kinds = {name: parameter.kind for name, parameter in bound.signature.parameters.items()}
    return {name: value for name, value in bound.arguments.items()
            if name not in unlogged and kinds[name] not in variadic}


_ABSENT = object()


class Patches:
    """Attributes an autolog() replaced, to put back on disable."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def replace(self, owner, name: str, replacement) -> None:
        self._undo.append((owner, name, owner.__dict__.get(name, _ABSENT)))
        setattr(owner, name, replacement)

    def replace_everywhere(self, owners, name: str, original, replacement) -> None:
        """`replace` in each of `owners` that still holds `original` (a library re-exports its `train`)."""
        for owner in owners:
            if getattr(owner, name, None) is original:
                self.replace(owner, name, replacement)

    def undo(self) -> None:
        while self._undo:
            owner, name, previous = self._undo.pop()
            if previous is _ABSENT:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, previous)

    def __bool__(self) -> bool:
        return bool(self._undo)
