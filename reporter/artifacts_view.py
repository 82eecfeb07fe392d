"""What a run page shows of the run's artifacts: a tree with sizes, previews, and what gets copied.

This runs in the gathering step (it reads the head of files); the templates only display the result.
"""

from __future__ import annotations

import csv
import io
import json
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from logger.model import Run
from logger.safepath import open_regular, resolve_inside

try:
    from logger.filter import param_text
except ImportError:  # pragma: no cover - the filter module is written alongside
    param_text = str

IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
TEXT_TYPES = {".txt", ".log", ".json", ".yaml", ".yml", ".toml", ".py", ".cfg", ".ini", ".sh", ".jsonl", ".xml"}
TABLE_TYPES = {".csv", ".tsv"}
MARKDOWN_TYPES = {".md", ".markdown"}
HTML_TYPES = {".html", ".htm"}
TEXT_PREVIEW_BYTES = 64 * 1024
TABLE_PREVIEW_ROWS = 20
MAX_PREVIEWS = 100  # per run: a run with thousands of files keeps a page of sane size


@dataclass
class ArtifactView:
    path: str
    name: str
    size: int
    kind: str  # image, text, table, markdown, html, model, other
    href: str | None  # relative to the run page; None when not copied
    source: Path | None  # the file in the log directory, None when missing or unsafe
    note: str = ""
    text: str | None = None
    truncated: bool = False
    rows: list[list[str]] | None = None
    markdown: str | None = None
    model: dict[str, Any] | None = None


@dataclass
class ArtifactNode:
    name: str
    path: str
    children: list["ArtifactNode"] = field(default_factory=list)
    artifact: ArtifactView | None = None
    size: int = 0


def artifact_views(run: Run, max_bytes: int, log_dir: Path) -> list[ArtifactView]:
    """Every artifact of a run, in path order, with the preview its type allows; only `log_dir`'s files are read."""
    root = Path(run.path) / "artifacts"
    views = []
    previews = 0
    for artifact in sorted(run.artifacts, key=lambda a: a.path):
        view = _view(root, artifact.path, artifact.size, max_bytes, log_dir)
        if view is None:
            continue
        if view.source is not None and previews < MAX_PREVIEWS and view.kind != "other":
            previews += _add_preview(view)
        views.append(view)
    return views


def image_views(run: Run, max_bytes: int, log_dir: Path) -> list[ArtifactView]:
    """The run's image artifacts, with the same checks and hrefs as `artifact_views` but no file reads (compare page)."""
    root = Path(run.path) / "artifacts"
    views = []
    for artifact in sorted(run.artifacts, key=lambda a: a.path):
        if PurePosixPath(artifact.path).suffix.lower() not in IMAGE_TYPES:
            continue
        view = _view(root, artifact.path, artifact.size, max_bytes, log_dir)
        if view is not None and view.kind == "image":
            views.append(view)
    return views


def artifact_tree(views: list[ArtifactView]) -> list[ArtifactNode]:
    """Nest the flat artifact list by folder; folders first, then files, each by name."""
    root = ArtifactNode("", "")
    for view in views:
        node = root
        parts = view.path.split("/")
        for depth, part in enumerate(parts[:-1]):
            child = next((c for c in node.children if c.artifact is None and c.name == part), None)
            if child is None:
                child = ArtifactNode(part, "/".join(parts[:depth + 1]))
                node.children.append(child)
            node = child
        node.children.append(ArtifactNode(parts[-1], view.path, artifact=view, size=view.size))
    _finish(root)
    return root.children


def _finish(node: ArtifactNode) -> int:
    if node.artifact is not None:
        return node.size
    node.children.sort(key=lambda c: (c.artifact is not None, c.name))
    node.size = sum(_finish(child) for child in node.children)
    return node.size


def _view(root: Path, path: str, logged_size: int, max_bytes: int, log_dir: Path) -> ArtifactView | None:
    pure = PurePosixPath(path)
    if pure.is_absolute() or not pure.parts or any(p in ("", ".", "..") for p in pure.parts):
        return None  # a path that would leave the artifacts folder is not an artifact
    name = pure.name
    suffix = pure.suffix.lower()
    kind = _kind(name, suffix)
    source: Path | None = root.joinpath(*pure.parts)
    note = ""
    size = logged_size
    try:
        # Checked again here, not only by the reader: any folder on the way may have become a link since.
        source = resolve_inside(source, log_dir)
        info = source.stat()
        if not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError
        size = info.st_size
    except OSError:
        source, note = None, "not found in the log directory"
    href = None
    if source is not None:
        if size > max_bytes:
            note = f"not copied: larger than {max_bytes // (1024 * 1024)} MB (--max-artifact-mb)"
        else:
            href = "artifacts/" + "/".join(quote(part, safe="") for part in pure.parts)
    return ArtifactView(path=path, name=name, size=size, kind=kind, href=href, source=source, note=note)


def _kind(name: str, suffix: str) -> str:
    if name == "model.json":
        return "model"
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix in TABLE_TYPES:
        return "table"
    if suffix in MARKDOWN_TYPES:
        return "markdown"
    if suffix in HTML_TYPES:
        return "html"
    if suffix in TEXT_TYPES:
        return "text"
    return "other"


def _add_preview(view: ArtifactView) -> int:
    """Fill the preview fields; returns 1 when a preview was added."""
    if view.kind in ("image", "html"):
        return int(view.href is not None)
    head, truncated = _read_head(view.source)
    if head is None:
        view.kind = "other"
        return 0
    if view.kind == "model":
        view.model = _model_description(head)
        if view.model is None:
            view.kind, view.text = "text", head
        return 1
    view.truncated = truncated
    if view.kind == "table":
        view.rows = _table_rows(head, truncated, "\t" if view.name.lower().endswith(".tsv") else ",")
    elif view.kind == "markdown":
        view.markdown = head
    else:
        view.text = head
    return 1


def _read_head(source: Path | None) -> tuple[str | None, bool]:
    try:
        with open_regular(source) as handle:
            data = handle.read(TEXT_PREVIEW_BYTES + 1)
    except OSError:
        return None, False
    if b"\0" in data:
        return None, False  # binary: no preview
    truncated = len(data) > TEXT_PREVIEW_BYTES
    return data[:TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace"), truncated


def _table_rows(text: str, truncated: bool, delimiter: str) -> list[list[str]]:
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]  # the last line may be cut in the middle
    rows = []
    for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter):
        rows.append(row)
        if len(rows) > TABLE_PREVIEW_ROWS:  # the header plus the first rows
            break
    return rows


def _model_description(text: str) -> dict[str, Any] | None:
    """The `model.json` that `logger.sklearn.log_model` writes: flavor, class, module, params, versions."""
    try:
        info = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a hostile file nested deeper than Python's stack
        return None
    if not isinstance(info, dict) or "flavor" not in info:
        return None
    params = info.get("params") if isinstance(info.get("params"), dict) else {}
    versions = info.get("versions") if isinstance(info.get("versions"), dict) else {}
    return {
        "flavor": str(info.get("flavor")),
        "class": str(info.get("class") or ""),
        "module": str(info.get("module") or ""),
        "params": sorted((str(k), param_text(v)) for k, v in params.items()),
        "versions": sorted((str(k), str(v)) for k, v in versions.items()),
    }
