"""What a run page shows of the run's artifacts: a tree with sizes, previews, and what gets copied.

This runs in the gathering step (it reads the head of files); the templates only display the result.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from logger.model import Artifact, Run
from logger.safepath import open_regular, resolve_inside
from logger.values import param_text

RASTER_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
IMAGE_TYPES = RASTER_TYPES | {".svg"}
TEXT_TYPES = {".txt", ".log", ".json", ".yaml", ".yml", ".toml", ".py", ".cfg", ".ini", ".sh", ".jsonl", ".xml"}
TABLE_TYPES = {".csv", ".tsv"}
MARKDOWN_TYPES = {".md", ".markdown"}
HTML_TYPES = {".html", ".htm", ".shtml", ".shtm", ".xhtml", ".xht"}
# A copy keeps its name only with one of these extensions: GitHub Pages, Python's http.server and Chromium
# over file:// all open such a file as an image, text, data or a download. Any other name (HTML, SVG, every
# XML type, which a server's type table may give to dozens of extensions, or an unknown one) could be opened
# as a document running its script with the site's origin, so its copy gets DOWNLOAD_SUFFIX.
INERT_TYPES = RASTER_TYPES | TABLE_TYPES | MARKDOWN_TYPES | {
    ".txt", ".log", ".json", ".jsonl", ".yaml", ".yml", ".toml", ".py", ".cfg", ".ini", ".sh", ".pdf",
    ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".npy", ".npz", ".h5", ".hdf5", ".onnx",
    ".safetensors", ".parquet", ".zip", ".tar"}
DOWNLOAD_SUFFIX = ".download"  # no type table knows it: served as application/octet-stream, text/plain on file://
TEXT_PREVIEW_BYTES = 64 * 1024
TABLE_PREVIEW_ROWS = 20
MAX_PREVIEWS = 100  # per run: a run with thousands of files keeps a page of sane size
# Put first in a previewed HTML file: its images, styles and fonts load from inside it or not at all,
# so a preview makes no request off the site (the sandbox already stops its scripts and forms).
FRAME_POLICY = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
                'img-src data:; style-src \'unsafe-inline\'; font-src data:">')
INLINE_PREVIEW_BYTES = 1024 * 1024  # HTML and SVG are shown from inside the page (srcdoc, data: URI) up to this
INLINE_BUDGET_BYTES = 8 * 1024 * 1024  # and up to this much per run page
# How much of the tree a run page shows unfolded: a run with a few models would otherwise be pages of previews.
OPEN_TREE_FILES = 12  # top-level folders start open only when the run has at most this many files
LIST_HEAD = 20  # entries of a folder listed before the rest are folded under "Show all"


@dataclass(frozen=True)
class Blob:
    """An artifact kept inside a log file (`Artifact.blob`: an image in a TensorBoard event file)."""

    file: Path  # checked to lie inside the log directory
    offset: int
    length: int

    def read(self, limit: int) -> bytes:
        """Up to `limit` of its bytes (fewer when the file is shorter than it said)."""
        with open_regular(self.file) as handle:
            handle.seek(self.offset)
            return handle.read(min(self.length, limit))


def read_source(source: Path | Blob, limit: int) -> bytes:
    """Up to `limit` bytes of an artifact, a file or a blob; raises OSError when it cannot be read."""
    if isinstance(source, Blob):
        return source.read(limit)
    with open_regular(source) as handle:
        return handle.read(limit)


@dataclass
class ArtifactView:
    path: str
    name: str
    size: int
    kind: str  # image, text, table, markdown, html, model, other
    href: str | None  # of the copy (see site_name_for_artifact), relative to the run page; None when not copied
    source: Path | Blob | None  # the file (or blob) in the log directory, None when missing or unsafe
    note: str = ""
    text: str | None = None
    truncated: bool = False
    rows: list[list[str]] | None = None
    markdown: str | None = None
    model: dict[str, Any] | None = None
    image_src: str | None = None  # what an <img> shows: the copy of a raster image, a data: URI of an SVG
    srcdoc: str | None = None  # an HTML file, for a sandboxed iframe
    preview_note: str = ""  # why a preview is missing


@dataclass
class _PreviewBudget:
    """What a run page may still hold: previews in all, and bytes of HTML and SVG inlined into it."""

    count: int = MAX_PREVIEWS
    inline_bytes: int = INLINE_BUDGET_BYTES


@dataclass
class ArtifactNode:
    name: str
    path: str
    children: list[ArtifactNode] = field(default_factory=list)
    artifact: ArtifactView | None = None
    size: int = 0
    open: bool = False  # a folder shown unfolded


def artifact_views(run: Run, max_bytes: int, log_dir: Path) -> list[ArtifactView]:
    """Every artifact of a run, in path order, with the preview its type allows; only `log_dir`'s files are read."""
    root = _artifacts_root(run)
    views = []
    budget = _PreviewBudget()
    for artifact in sorted(run.artifacts, key=lambda a: a.path):
        view = _view(root, artifact, max_bytes, log_dir)
        if view is None:
            continue
        if view.source is not None and budget.count > 0 and view.kind != "other":
            budget.count -= _add_preview(view, budget)
        views.append(view)
    return views


def image_views(run: Run, max_bytes: int, log_dir: Path) -> list[ArtifactView]:
    """The run's raster images, with the same checks and hrefs as `artifact_views` but no file reads (compare page).

    SVG is left out: its copy is a download (site_name_for_artifact), and inlining every run's SVGs into
    the compare data, which holds the whole site, would have no bound."""
    root = _artifacts_root(run)
    views = []
    for artifact in sorted(run.artifacts, key=lambda a: a.path):
        if PurePosixPath(artifact.path).suffix.lower() not in RASTER_TYPES:
            continue
        view = _view(root, artifact, max_bytes, log_dir)
        if view is not None and view.kind == "image":
            views.append(view)
    return views


def _artifacts_root(run: Run) -> Path | None:
    """Where the reader found the run's artifacts (the model says; every file is still checked against log_dir)."""
    return Path(run.artifacts_dir) if run.artifacts_dir else None


def site_name_for_artifact(path: str) -> str:
    """Where the site keeps its copy of the artifact at `path`, relative to the run's artifacts folder.

    The one rule for every copied artifact: a name without an INERT_TYPES extension gets DOWNLOAD_SUFFIX,
    so that no copy is a document a browser runs. A folder whose name ends in the suffix gets it once more,
    and so does a file already ending in it: no two artifacts (a file "x", a folder "x.download") share a name.
    """
    *folders, name = PurePosixPath(path).parts
    folders = [f + DOWNLOAD_SUFFIX if f.endswith(DOWNLOAD_SUFFIX) else f for f in folders]
    if PurePosixPath(name).suffix.lower() not in INERT_TYPES:
        name += DOWNLOAD_SUFFIX
    return "/".join([*folders, name])


def artifact_tree(views: list[ArtifactView]) -> list[ArtifactNode]:
    """Nest the flat artifact list by folder; folders first, then files, each by name.

    Folders inside folders start folded; top-level folders start open when the run has few files."""
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
    for child in root.children:
        child.open = child.artifact is None and len(views) <= OPEN_TREE_FILES
    return root.children


def _finish(node: ArtifactNode) -> int:
    if node.artifact is not None:
        return node.size
    node.children.sort(key=lambda c: (c.artifact is not None, c.name))
    node.size = sum(_finish(child) for child in node.children)
    return node.size


def _view(root: Path | None, artifact: Artifact, max_bytes: int, log_dir: Path) -> ArtifactView | None:
    path = artifact.path
    pure = PurePosixPath(path)
    if pure.is_absolute() or not pure.parts or any(p in ("", ".", "..") for p in pure.parts):
        return None  # a path that would leave the artifacts folder is not an artifact
    name = pure.name
    suffix = pure.suffix.lower()
    kind = _kind(name, suffix)
    note = ""
    size = artifact.size
    source: Path | Blob | None
    try:
        if artifact.blob is not None:
            source = _blob(artifact.blob, log_dir)
            size = source.length
        else:
            if root is None:
                raise FileNotFoundError
            # Checked again here, not only by the reader: any folder on the way may have become a link since.
            found = resolve_inside(root.joinpath(*pure.parts), log_dir)
            info = found.stat()
            if not stat.S_ISREG(info.st_mode):
                raise FileNotFoundError
            size = info.st_size
            source = found
    except OSError:
        source, note = None, "not found in the log directory"
    href = None
    if source is not None:
        if size > max_bytes:
            note = f"not copied: larger than {max_bytes // (1024 * 1024)} MB (--max-artifact-mb)"
        else:
            href = "artifacts/" + "/".join(quote(part, safe="") for part in site_name_for_artifact(path).split("/"))
    return ArtifactView(path=path, name=name, size=size, kind=kind, href=href, source=source, note=note)


def _blob(blob: tuple[str, int, int], log_dir: Path) -> Blob:
    """The blob's file, checked like any artifact's, and its range, checked to lie within the file."""
    file, offset, length = blob
    found = resolve_inside(Path(file), log_dir)
    info = found.stat()
    if not stat.S_ISREG(info.st_mode) or offset < 0 or length < 0 or offset + length > info.st_size:
        raise FileNotFoundError
    return Blob(found, offset, length)


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


def _add_preview(view: ArtifactView, budget: _PreviewBudget) -> int:
    """Fill the preview fields; returns 1 when a preview was added."""
    if view.href is not None and view.kind == "image" and PurePosixPath(view.name).suffix.lower() in RASTER_TYPES:
        view.image_src = view.href
        return 1
    if view.kind in ("image", "html"):
        return _add_inline_preview(view, budget) if view.href is not None else 0
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


def _add_inline_preview(view: ArtifactView, budget: _PreviewBudget) -> int:
    """HTML into a sandboxed srcdoc iframe, SVG into an <img> as a data: URI: neither runs the file's script."""
    if view.size > INLINE_PREVIEW_BYTES:
        view.preview_note = "too large to preview: download it to open it"
        return 0
    if view.size > budget.inline_bytes:
        view.preview_note = "not previewed: this page holds enough previews already; download it to open it"
        return 0
    data = _read_bytes(view.source, INLINE_PREVIEW_BYTES)
    if data is None or len(data) > INLINE_PREVIEW_BYTES:
        return 0
    budget.inline_bytes -= len(data)
    if view.kind == "html":
        view.srcdoc = FRAME_POLICY + data.decode("utf-8", errors="replace")
    else:
        view.image_src = "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
    return 1


def _read_bytes(source: Path | Blob | None, limit: int) -> bytes | None:
    """Up to limit + 1 bytes of a file (one more tells that it is longer); None when it cannot be read."""
    if source is None:
        return None
    try:
        return read_source(source, limit + 1)
    except OSError:
        return None


def _read_head(source: Path | Blob | None) -> tuple[str | None, bool]:
    data = _read_bytes(source, TEXT_PREVIEW_BYTES)
    if data is None:
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
    params = info["params"] if isinstance(info.get("params"), dict) else {}
    versions = info["versions"] if isinstance(info.get("versions"), dict) else {}
    return {
        "flavor": str(info.get("flavor")),
        "class": str(info.get("class") or ""),
        "module": str(info.get("module") or ""),
        "params": sorted((str(k), param_text(v)) for k, v in params.items()),
        "versions": sorted((str(k), str(v)) for k, v in versions.items()),
    }
