"""Images for `log_image`: arrays and PIL images made into PIL images, and MLflow's names for a series.

`log_image(image, key="samples", step=3)` (MLflow 2.x) writes, as MlflowClient.log_image does,
`images/<key>+step+<step>+timestamp+<ms>+<uuid>.png` (a "/" in the key written as "~") and a copy at most
256 pixels on its longer side, `...+compressed.webp`, then sets the tag `mlflow.loggedImages`. Following
that layout lets the site show flowsheet's and MLflow's series the same way (reporter/site/image_names.py).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

SERIES_FOLDER = "images"
COMPRESSED_SIZE = 256  # MLflow's COMPRESSED_IMAGE_SIZE
_KEY = re.compile(r"[a-zA-Z0-9_\-./ ]+")  # what MLflow lets a key hold


def to_pil(image: Any) -> Any:
    """A PIL image from a PIL image or a numpy array (HxW, HxWx1, HxWx3 or HxWx4; floats in [0, 1])."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("log_image needs Pillow: pip install pillow") from error
    if isinstance(image, Image.Image):
        return image
    if hasattr(image, "to_pil"):  # mlflow.Image
        return image.to_pil()
    import numpy

    array = numpy.asarray(image)
    if array.dtype.kind == "b":
        array = array * 255
    elif array.dtype.kind == "f":
        array = (numpy.clip(array, 0, 1) * 255).round()
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array.astype("uint8"))


def series_files(key: str, step: int, timestamp: int) -> tuple[str, str]:
    """The two artifact paths of one image of a series: the PNG and its compressed WebP copy."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"image key {key!r} may only hold letters, digits, '_', '-', '.', ' ' and '/'")
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError(f"step must be an integer, got {step!r}")
    name = f"{SERIES_FOLDER}/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}"
    return f"{name}.png", f"{name}+compressed.webp"


def compressed(image: Any) -> Any:
    """The image scaled to fit COMPRESSED_SIZE on its longer side, as MLflow's thumbnail is."""
    width, height = image.size
    if width > height:
        size = (COMPRESSED_SIZE, max(1, int(height * COMPRESSED_SIZE / width)))
    else:
        size = (max(1, int(width * COMPRESSED_SIZE / height)), COMPRESSED_SIZE)
    return image.resize(size)
