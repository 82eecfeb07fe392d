"""The protobuf wire format, read by hand, and the CRC-32C checksums of TFRecord framing.

Just enough to decode TensorBoard event files (logger/tfevents.py) without the protobuf package:
a message is a run of fields, each a varint key (field number << 3 | wire type) then its value.
Wire types: 0 varint, 1 fixed 8 bytes, 2 length then bytes (strings, sub-messages, packed numbers),
5 fixed 4 bytes; 3 and 4 (groups) are long obsolete and refused.

Every reader here takes the buffer, a start and an end, and raises ValueError (or IndexError, past
the buffer) on bytes that are not a well-formed message; callers catch those around one record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

DOUBLE = struct.Struct("<d").unpack_from
FLOAT = struct.Struct("<f").unpack_from
UINT64_MASK = (1 << 64) - 1
INT64_SIGN = 1 << 63
MAX_VARINT_SHIFT = 63  # ten bytes hold 64 bits; an eleventh is corrupt


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at `pos`, and the position after it."""
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > MAX_VARINT_SHIFT:
            raise ValueError("varint longer than ten bytes")


def as_int64(value: int) -> int:
    """A varint read as a (two's complement) int64: negative steps are written as ten-byte varints."""
    value &= UINT64_MASK
    return value - (1 << 64) if value & INT64_SIGN else value


def skip_field(buf: bytes, pos: int) -> int:
    """The position after the field whose key starts at `pos`."""
    key, pos = read_varint(buf, pos)
    wire = key & 7
    if wire == 0:
        return read_varint(buf, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = read_varint(buf, pos)
        return pos + length
    if wire == 5:
        return pos + 4
    raise ValueError(f"wire type {wire} (field {key >> 3}) is not read")


def fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Each field of the message in buf[pos:end]: (number, wire type, a, b).

    Varint: a is the value. Length-delimited: the value is buf[a:b]. Fixed 4 or 8 bytes: they start at a.
    For the slower paths (metadata, hparams, tensors): the scalar fast path in tfevents reads bytes itself."""
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            yield number, 0, value, 0
            continue
        if wire == 2:
            length, start = read_varint(buf, pos)
            pos = start + length
            if pos > end:
                raise ValueError(f"field {number} runs past its message")
            yield number, 2, start, pos
            continue
        size = 8 if wire == 1 else 4 if wire == 5 else 0
        if not size:
            raise ValueError(f"wire type {wire} (field {number}) is not read")
        if pos + size > end:
            raise ValueError(f"field {number} runs past its message")
        yield number, wire, pos, 0
        pos += size
    if pos != end:
        raise ValueError("a field runs past its message")


def packed_varints(buf: bytes, start: int, end: int) -> list[int]:
    """The varints of a packed repeated field."""
    values = []
    while start < end:
        value, start = read_varint(buf, start)
        values.append(value)
    if start != end:
        raise ValueError("packed varints run past their field")
    return values


# ---------------------------------------------------------------- CRC-32C, as TFRecord masks it


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli polynomial, reflected
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data`: pure Python, so for short inputs (a length, a damaged record)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """The checksum as TFRecord stores it: CRC-32C rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
