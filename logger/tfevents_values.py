"""What a TensorBoard summary value holds beyond a plain scalar: plugin metadata, tensors, hparams, images.

Field numbers follow TensorBoard's protos (tensorboard/compat/proto/summary.proto, tensor.proto,
tensor_shape.proto, types.proto; tensorboard/plugins/hparams/plugin_data.proto and api.proto;
google/protobuf/struct.proto), the same ones tensorboardX ships in tensorboardX/proto/. These are the
slower paths of logger/tfevents.py: they raise ValueError/IndexError/struct.error on malformed bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from .protowire import DOUBLE, FLOAT, as_int64, fields, packed_varints

# DataType (types.proto) -> how one element sits in tensor_content (little endian)
_CONTENT_FORMATS = {1: "<f", 2: "<d", 3: "<i", 4: "<B", 5: "<h", 6: "<b", 9: "<q", 10: "<?",
                    17: "<H", 19: "<e", 22: "<I", 23: "<Q"}
DT_STRING, DT_BFLOAT16, DT_HALF = 7, 14, 19
_NUMERIC = frozenset(_CONTENT_FORMATS) | {DT_BFLOAT16}
MAX_STRUCT_DEPTH = 32  # google.protobuf.Value nests; deeper is refused rather than recursed into
MAX_TAG_PART = 100  # characters of one path component made from a tag

# HParams session status (api.proto Status) -> run status; RUNNING and UNKNOWN leave the end to time.
HPARAMS_STATUS = {1: "FINISHED", 2: "FAILED"}


def plugin_data(buf: bytes, start: int, end: int) -> tuple[str, tuple[int, int] | None]:
    """SummaryMetadata: the plugin name ("" when none) and where its content bytes lie."""
    name, content = "", None
    for number, wire, a, b in fields(buf, start, end):
        if number == 1 and wire == 2:  # plugin_data
            for inner, inner_wire, c, d in fields(buf, a, b):
                if inner == 1 and inner_wire == 2:
                    name = buf[c:d].decode("utf-8", "replace")
                elif inner == 2 and inner_wire == 2:
                    content = (c, d)
    return name, content


def _element_count(buf: bytes, start: int, end: int) -> int:
    """TensorShapeProto: how many elements (1 for a scalar's empty shape; -1 when a size is unknown)."""
    count = 1
    for number, wire, a, b in fields(buf, start, end):
        if number == 2 and wire == 2:  # dim
            size = 0
            for inner, inner_wire, value, _ in fields(buf, a, b):
                if inner == 1 and inner_wire == 0:
                    size = as_int64(value)
            count = -1 if size < 0 or count < 0 else count * size
        elif number == 3 and wire == 0 and a:  # unknown_rank
            count = -1
    return count


def _half(bits: int, dtype: int) -> float:
    if dtype == DT_BFLOAT16:
        return float(struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0])
    return float(struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0])


def _first_listed(buf: bytes, number: int, wire: int, a: int, b: int, dtype: int) -> float | None:
    """The first element of a *_val field (packed, or one element written unpacked)."""
    if number in (5, 6):  # float_val, double_val
        width, unpack = (4, FLOAT) if number == 5 else (8, DOUBLE)
        if wire == 2:
            return float(unpack(buf, a)[0]) if b - a >= width else None
        return float(unpack(buf, a)[0]) if wire == (5 if number == 5 else 1) else None
    if wire == 2:
        values = packed_varints(buf, a, b)
        if not values:
            return None
        first = values[0]
    elif wire == 0:
        first = a
    else:
        return None
    if number == 13:  # half_val: the 16 bits of a half or bfloat16
        return _half(first, dtype)
    if number == 11:  # bool_val
        return 1.0 if first else 0.0
    return float(as_int64(first))  # int_val, int64_val: negative values are sign-extended varints


def tensor_number(buf: bytes, start: int, end: int, require_numeric: bool = False) -> float | None:
    """A TensorProto holding one number (a scalar written as a tensor), as a float; None otherwise."""
    dtype, count, content, first = 0, 1, None, None
    for number, wire, a, b in fields(buf, start, end):
        if number == 1 and wire == 0:
            dtype = a
        elif number == 2 and wire == 2:
            count = _element_count(buf, a, b)
        elif number == 4 and wire == 2:
            content = (a, b)
        elif first is None and number in (5, 6, 7, 10, 11, 13):
            first = (number, wire, a, b)
    if count != 1 or (require_numeric and dtype not in _NUMERIC):
        return None
    if content is not None:
        a, b = content
        if dtype in (DT_BFLOAT16, DT_HALF):
            return _half(int.from_bytes(buf[a:a + 2], "little"), dtype) if b - a >= 2 else None
        layout = _CONTENT_FORMATS.get(dtype)
        if layout is None or b - a < struct.calcsize(layout):
            return None
        return float(struct.unpack_from(layout, buf, a)[0])
    return _first_listed(buf, *first, dtype) if first is not None else None


def tensor_strings(buf: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Where each string_val element of a TensorProto lies (text summaries, TF2 image summaries)."""
    return [(a, b) for number, wire, a, b in fields(buf, start, end) if number == 8 and wire == 2]


# ---------------------------------------------------------------- hparams plugin


@dataclass
class HParamsRecord:
    """One HParamsPluginData: a session's start (its hparams) or its end (status, time), or neither."""

    params: dict[str, Any] | None = None
    status: int | None = None
    end_time: float | None = None


def hparams_record(data: bytes) -> HParamsRecord:
    """Decode HParamsPluginData: session_start_info=3 {hparams=1 map}, session_end_info=4 {status=1,
    end_time_secs=2}; experiment=2 (the dashboard's column list) is not needed and is left out."""
    record = HParamsRecord()
    for number, wire, a, b in fields(data, 0, len(data)):
        if number == 3 and wire == 2:
            params = record.params = {}
            for inner, inner_wire, c, d in fields(data, a, b):
                if inner == 1 and inner_wire == 2:
                    key, value = _map_entry(data, c, d, 0)
                    params[key] = _param(value)
        elif number == 4 and wire == 2:
            for inner, inner_wire, c, _ in fields(data, a, b):
                if inner == 1 and inner_wire == 0:
                    record.status = c
                elif inner == 2 and inner_wire == 1:
                    record.end_time = DOUBLE(data, c)[0]
    return record


def _map_entry(data: bytes, start: int, end: int, depth: int) -> tuple[str, Any]:
    """A map<string, google.protobuf.Value> entry: key=1, value=2."""
    key, value = "", None
    for number, wire, a, b in fields(data, start, end):
        if number == 1 and wire == 2:
            key = data[a:b].decode("utf-8", "replace")
        elif number == 2 and wire == 2:
            value = _struct_value(data, a, b, depth)
    return key, value


def _struct_value(data: bytes, start: int, end: int, depth: int) -> Any:
    """google.protobuf.Value: null=1, number=2, string=3, bool=4, struct=5 {fields=1 map}, list=6 {values=1}."""
    if depth > MAX_STRUCT_DEPTH:
        raise ValueError("hparam value nested too deeply")
    value: Any = None
    for number, wire, a, b in fields(data, start, end):
        if number == 2 and wire == 1:
            value = DOUBLE(data, a)[0]
        elif number == 3 and wire == 2:
            value = data[a:b].decode("utf-8", "replace")
        elif number == 4 and wire == 0:
            value = a != 0
        elif number == 5 and wire == 2:
            value = dict(_map_entry(data, c, d, depth + 1)
                         for inner, inner_wire, c, d in fields(data, a, b) if inner == 1 and inner_wire == 2)
        elif number == 6 and wire == 2:
            value = [_struct_value(data, c, d, depth + 1)
                     for inner, inner_wire, c, d in fields(data, a, b) if inner == 1 and inner_wire == 2]
        elif number == 1:
            value = None
    return value


def _param(value: Any) -> Any:
    """A param as the model keeps it: a scalar; whole numbers as ints (JSON numbers, as TensorBoard shows
    them: tensorboardX writes every number as a double), lists and structs as compact JSON text."""
    value = _whole_numbers(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value


# ---------------------------------------------------------------- images


def image_extension(head: bytes) -> str:
    """The file extension the first bytes of an encoded image say (PNG usually; GIF for tensorboardX videos)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM"):
        return "bmp"
    return "bin"


def tag_path(tag: str) -> str:
    """A tag as a relative artifact path: "/" keeps its groups; empty, "." and ".." parts, backslashes and
    unprintable characters never reach a path (a tag is untrusted text)."""
    parts = []
    for part in tag.replace("\\", "/").split("/"):
        part = "".join(char if char.isprintable() else "_" for char in part)[:MAX_TAG_PART]
        if part not in ("", ".", ".."):
            parts.append(part)
    return "/".join(parts) or "_"
