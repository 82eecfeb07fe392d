"""The Jinja environment: templates from `--templates DIR` first, then the defaults.

An override can extend the template it replaces with `{% extends "default:run.html" %}`.
Autoescape is always on; log values never go through `|safe` (only HTML that nh3 cleaned is Markup).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

from reporter import assets
from reporter.site.markdown import render_markdown
from reporter.site.text import format_duration, format_size, format_time, format_value


def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    defaults = jinja2.FileSystemLoader(str(assets.templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders += [jinja2.PrefixLoader({"default": defaults}, delimiter=":"), defaults]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, finalize=_printable)
    env.filters.update(time=format_time, duration=format_duration, size=format_size, value=format_value,
                       markdown=render_markdown)
    env.globals["user_templates"] = templates_dir is not None
    return env


def render_page(env: jinja2.Environment, templates: Iterable[str], context: dict[str, Any]) -> str:
    """Render with the first template of `templates` that exists (per-object names before generic ones)."""
    return env.select_template(list(templates)).render(context)


_CONTROL = {c: "\ufffd" for c in (*range(0, 9), 11, 12, *range(14, 32), 127)}


def _printable(value: Any) -> Any:
    """Control characters from the logs (a NUL in a tag, say) become U+FFFD instead of reaching the page."""
    if type(value) is str:
        return value.translate(_CONTROL)
    return value


