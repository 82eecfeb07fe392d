"""What an image artifact's name says: the pattern that matches it across runs, or its place in a series.

Two habits make the same picture carry a different name in every run:
- a figure saved to `NamedTemporaryFile(prefix="confusionmatrix-", suffix=".png")` and logged as that file:
  `confusionmatrix-k2j4_x9.png` in one run, `confusionmatrix-ab12cd.png` in the next. `image_pattern`
  folds the random part, so both are `confusionmatrix-*.png`;
- MLflow's `log_image(image, key=..., step=...)`, which writes
  `images/<key>+step+<step>+timestamp+<ms>+<uuid>.png` (a "/" in the key written as "~") and a smaller
  `...+compressed.webp` beside it. `series_entry` reads such a name back into (key, step, timestamp).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# MLflow's file naming (mlflow/tracking/client.py, MlflowClient.log_image); logger.run writes the same.
SERIES_FOLDER = "images"
_SERIES = re.compile(r"(?P<key>[^/+]+)\+step\+(?P<step>-?\d+)\+timestamp\+(?P<ts>\d+)\+(?P<uuid>[^/+]+)"
                     r"(?P<compressed>\+compressed)?\.(?P<ext>png|webp)", re.IGNORECASE)
_COUNTER = re.compile(r"_?[a-z]+_\d+")  # "epoch_12": a word and its number, not a random tail
_TEMPFILE_DEFAULT = re.compile(r"^tmp[a-z0-9_]{8}$")  # NamedTemporaryFile() without a prefix
_SEPARATORS = re.compile(r"([-_.+~ ]+)")
_HEX = re.compile(r"[0-9a-f]{8,}", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
# tempfile's random part: 8 of "a-z0-9_" at the end of the name; with "_" inside, the token rule below
# would see two tokens, one of them maybe without a digit
_TEMPFILE_TAIL = re.compile(r"(?=[a-z0-9_]*_)(?=[a-z0-9_]*\d)[a-z0-9_]{8}$")
SHORT_TOKEN = 16  # a token with a digit this short is taken as random whole; a longer one keeps its letters
WILD = "*"


@dataclass(frozen=True)
class SeriesEntry:
    key: str
    step: int
    timestamp: int
    compressed: bool


def series_entry(path: str) -> SeriesEntry | None:
    """The (key, step) of an image MLflow's `log_image(key=, step=)` names, or None for any other path."""
    pure = PurePosixPath(path)
    if len(pure.parts) != 2 or pure.parts[0] != SERIES_FOLDER:
        return None
    found = _SERIES.fullmatch(pure.name)
    if found is None:
        return None
    return SeriesEntry(found["key"].replace("~", "/"), int(found["step"]), int(found["ts"]),
                       found["compressed"] is not None)


def image_pattern(path: str, run_id: str = "") -> str:
    """`path` with its random parts folded to "*": the run's id, UUIDs, hex strings, and tokens (between
    "-", "_", ".", "+", "~" or spaces) holding a digit. The folder stays as it is. A name that would fold
    to nothing but "*" keeps its own name: "*.png" would match every picture of the folder."""
    pure = PurePosixPath(path)
    suffix = pure.suffix if len(pure.suffix) <= 6 else ""
    stem = pure.name[:len(pure.name) - len(suffix)] if suffix else pure.name
    folded = _fold(stem, run_id)
    if folded.strip(WILD + "-_.+~ ") == "":
        return path
    parent = str(pure.parent)
    return (f"{parent}/" if parent != "." else "") + folded + suffix


def _fold(stem: str, run_id: str) -> str:
    if run_id and len(run_id) >= 4:
        stem = stem.replace(run_id, WILD)
    stem = _UUID.sub(WILD, stem)
    tail = _TEMPFILE_TAIL.search(stem) if len(stem) > 8 else None
    if tail and not _COUNTER.fullmatch(tail[0]):
        stem = stem[:tail.start()] + WILD
    stem = _TEMPFILE_DEFAULT.sub("tmp" + WILD, stem)
    pieces = _SEPARATORS.split(stem)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2:  # a separator
            out.append(piece)
            continue
        if piece == WILD or _HEX.fullmatch(piece) or (_DIGITS.search(piece) and len(piece) <= SHORT_TOKEN):
            out.append(WILD)
        else:
            out.append(_DIGITS.sub(WILD, piece))
    text = "".join(out)
    # "*_*" (tempfile's random part may hold "_") is one random part
    return re.sub(r"\*(?:[-_.+~ ]+\*)+", WILD, text)


def series_images(images: dict[str, str]) -> tuple[dict[str, str], dict[str, list[tuple[int, str]]]]:
    """Split path -> href into the other images and the series: key -> [(step, href)] by step.

    At a step logged twice the later timestamp wins; the full-size PNG is preferred to its compressed copy."""
    plain: dict[str, str] = {}
    chosen: dict[tuple[str, int], tuple[bool, int, str, str]] = {}
    for path, href in images.items():
        entry = series_entry(path)
        if entry is None:
            plain[path] = href
            continue
        rank = (not entry.compressed, entry.timestamp, path, href)
        if rank > chosen.get((entry.key, entry.step), (False, -1, "", "")):
            chosen[(entry.key, entry.step)] = rank
    series: dict[str, list[tuple[int, str]]] = {}
    for (key, step), rank in sorted(chosen.items()):
        series.setdefault(key, []).append((step, rank[3]))
    return plain, series
