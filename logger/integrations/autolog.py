"""`logger.autolog()`: autologging for every supported library, as `mlflow.autolog()`.

A library already imported is set up at once; one imported later is set up right after its import
(an import hook that waits for the library's own module, then steps aside), so calling `logger.autolog()`
at the top of a script costs no framework import. `logger.autolog(disable=True)` undoes all of it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import warnings

# library module -> the integration that autologs it, relative to this package (logger/ may be loaded
# under another name: see flowsheet/__init__.py)
LIBRARIES = {
    "sklearn": ".sklearn",
    "xgboost": ".xgboost",
    "lightgbm": ".lightgbm",
    "keras": ".keras",
}

_settings: dict = {}
_enabled: set[str] = set()
_lock = threading.Lock()


def autolog(log_models: bool = True, disable: bool = False, silent: bool = False, extra_tags: dict | None = None,
            **_mlflow_only) -> None:
    with _lock:
        _settings.clear()
        _settings.update(log_models=log_models, disable=disable, silent=silent, extra_tags=extra_tags)
        _HOOK.remove()
    for library in [name for name in LIBRARIES if name in sys.modules or name in _enabled]:
        _set_up(library)
    if not disable:
        _HOOK.install([name for name in LIBRARIES if name not in sys.modules])


def _set_up(library: str) -> None:
    """Run the library's integration's autolog() with the settings; a failure warns, never breaks an import."""
    try:
        integration = importlib.import_module(LIBRARIES[library], __package__)
        integration.autolog(**_settings)
    except Exception as error:
        if not _settings.get("silent"):
            warnings.warn(f"flowsheet could not set up autologging for {library}: {type(error).__name__}: {error}",
                          stacklevel=2)
        return
    if _settings.get("disable"):
        _enabled.discard(library)
    else:
        _enabled.add(library)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a watched library it asks the other finders, and has the module's loader
    run the set-up once the module has been executed."""

    def __init__(self) -> None:
        self.waiting: set[str] = set()

    def install(self, names: list[str]) -> None:
        with _lock:
            self.waiting = set(names)
            if self.waiting and self not in sys.meta_path:
                sys.meta_path.insert(0, self)

    def remove(self) -> None:
        self.waiting = set()
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.waiting:
            return None
        self.waiting.discard(fullname)
        if not self.waiting:
            self.remove()
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenSetUp(spec.loader, fullname)
                return spec
        return None


class _ThenSetUp(importlib.abc.Loader):
    def __init__(self, loader, library: str) -> None:
        self.loader, self.library = loader, library

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        # The module keeps its real loader: importlib.resources and pickling read it.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _set_up(self.library)


_HOOK = _AfterImport()
