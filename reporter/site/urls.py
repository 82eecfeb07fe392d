"""Where each page and file of the site lives: folder names made safe from any id, and links to them."""

from __future__ import annotations

import hashlib
import re

_SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")
_MADE_ID = re.compile(r"-[0-9a-f]{32}$")


def site_id(value: str) -> str:
    """A folder name for an id: the id itself when it is a plain name, else a slug plus a hash."""
    # An id that looks like a made folder name is made into one too, so that no id can be chosen to land
    # in another's folder; the 128-bit hash keeps apart ids crafted to share a slug.
    if _SAFE_ID.match(value) and not value.endswith(".") and not _MADE_ID.search(value):
        return value
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-")[:40] or "id"
    return f"{slug}-{hashlib.sha256(value.encode('utf-8')).hexdigest()[:32]}"


def run_dir(run_id: str) -> str:
    return f"runs/{site_id(run_id)}"


def experiment_dir(experiment_id: str) -> str:
    return f"experiments/{site_id(experiment_id)}"


def run_href(run_id: str) -> str:
    return f"{run_dir(run_id)}/index.html"


def experiment_href(experiment_id: str) -> str:
    return f"{experiment_dir(experiment_id)}/index.html"
