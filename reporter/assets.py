"""Where the site's own files live: the page templates and the static CSS and JavaScript.

One lookup for both layouts: an installed wheel carries the templates inside the package
(`reporter/templates`, force-included by pyproject.toml), while a checkout or an editable install
keeps them in the repository's top-level `templates/`, beside the package.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE / "static"


def templates_dir() -> Path:
    """The installed `reporter/templates` when it exists (a wheel), else the repository's `templates/`."""
    installed = PACKAGE / "templates"
    return installed if installed.is_dir() else PACKAGE.parent / "templates"
