"""`import flowsheet as mlflow`: the logger under a name that a file of yours cannot shadow.

    import flowsheet as mlflow

    with mlflow.start_run():
        mlflow.log_metric("loss", 0.42, step=1)

`import logger` takes the first `logger` on sys.path, and a script's own folder comes first: in a
project with its own logger.py (a common name for a logging helper) it imports that file. `flowsheet`
is the same package, not a copy: this module loads the real logger/ (the folder beside this one) and
hands out its names, and `flowsheet.sklearn`, `flowsheet.tracking`, ... are logger's own modules.

The implementation lives under one name per process:
- `logger`, when `import logger` would find this very package, so that a program using both names
  has one stack of active runs and one set of writers;
- `_flowsheet_logger` when something else answers to `logger`: the package is then loaded from its
  file under that private name, and the user's `logger` stays theirs. This works because logger/
  imports itself only by relative imports (tests/logger/test_alias.py checks it).

Importing costs what `import logger` costs: names load their modules on first use.
"""

import importlib
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec

PRIVATE_NAME = "_flowsheet_logger"
_HOME = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "logger")
_INIT = os.path.join(_HOME, "__init__.py")


def _is_the_logger(module) -> bool:
    origin = getattr(module, "__file__", None)
    return origin is not None and os.path.realpath(origin) == _INIT


def _load_implementation():
    for name in ("logger", PRIVATE_NAME):
        module = sys.modules.get(name)
        if module is not None and _is_the_logger(module):
            return module
    if "logger" not in sys.modules:
        found = importlib.util.find_spec("logger")
        if found is not None and found.origin is not None and os.path.realpath(found.origin) == _INIT:
            return importlib.import_module("logger")
    spec = importlib.util.spec_from_file_location(PRIVATE_NAME, _INIT, submodule_search_locations=[_HOME])
    if spec is None or spec.loader is None:
        raise ImportError(f"flowsheet: cannot load the logger package from {_HOME}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[PRIVATE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[PRIVATE_NAME]
        raise
    return module


_logger = _load_implementation()
__version__ = _logger.__version__
__all__ = list(_logger.__all__)


def __getattr__(name):
    try:
        value = getattr(_logger, name)
    except AttributeError:
        raise AttributeError(f"module 'flowsheet' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(dir(_logger)))


class _Alias:
    """Finds `flowsheet.<name>` as the implementation's `<name>` module itself (never a second copy,
    which would have a run stack of its own). Asked before the usual finders, for these names only."""

    _specs: dict[str, ModuleSpec] = {}

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if not fullname.startswith(__name__ + "."):
            return None
        if importlib.util.find_spec(cls._real_name(fullname)) is None:
            return None
        return ModuleSpec(fullname, cls)

    @staticmethod
    def _real_name(fullname: str) -> str:
        return _logger.__name__ + fullname[len(__name__):]

    @classmethod
    def create_module(cls, spec):
        module = importlib.import_module(cls._real_name(spec.name))
        cls._specs[spec.name] = module.__spec__  # the import system sets __spec__ next; put back in exec_module
        return module

    @classmethod
    def exec_module(cls, module):
        module.__spec__ = cls._specs.pop(module.__spec__.name, module.__spec__)


if not any(finder is _Alias for finder in sys.meta_path):
    sys.meta_path.insert(0, _Alias)
