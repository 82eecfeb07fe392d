"""TensorBoard event files written byte by byte, for the reader's tests of odd and damaged input.

The real files come from tensorboardX (tests/fixtures/make_tensorboard.py); these helpers make what it
never writes: fields out of order, negative steps, long tags, damaged checksums. They follow the
protobuf wire format and TensorBoard's event.proto / summary.proto field numbers, and TFRecord framing
(length, masked CRC-32C of the length, data, masked CRC-32C of the data).

    write_events(folder / "events.out.tfevents.1.host", [scalar_event("loss", 0.5, step=3)])
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from logger.protowire import masked_crc

WALL = 1_700_000_000.0  # seconds: the wall time of hand-made events unless told


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte varints
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def varint_field(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def bytes_field(number: int, payload: bytes | str) -> bytes:
    payload = payload.encode() if isinstance(payload, str) else payload
    return key(number, 2) + varint(len(payload)) + payload


def double_field(number: int, value: float) -> bytes:
    return key(number, 1) + struct.pack("<d", value)


def float_field(number: int, value: float) -> bytes:
    return key(number, 5) + struct.pack("<f", value)


def scalar_value(tag: str, value: float) -> bytes:
    """Summary.Value with tag=1 and simple_value=2."""
    return bytes_field(1, tag) + float_field(2, value)


def event(wall: float | None = WALL, step: int | None = None, values: Iterable[bytes] = (), extra: bytes = b"") -> bytes:
    """An Event: wall_time=1, step=2, summary=5 holding `values` (each a Summary.Value), then `extra`."""
    out = b"" if wall is None else double_field(1, wall)
    out += b"" if step is None else varint_field(2, step)
    summary = b"".join(bytes_field(1, value) for value in values)
    return out + (bytes_field(5, summary) if summary else b"") + extra


def scalar_event(tag: str, value: float, step: int = 0, wall: float = WALL) -> bytes:
    return event(wall, step, [scalar_value(tag, value)])


def record(data: bytes, length_crc: int | None = None, data_crc: int | None = None) -> bytes:
    """One TFRecord; a checksum given replaces the right one (to damage it)."""
    length = struct.pack("<Q", len(data))
    length_crc = masked_crc(length) if length_crc is None else length_crc
    data_crc = masked_crc(data) if data_crc is None else data_crc
    return length + struct.pack("<I", length_crc) + data + struct.pack("<I", data_crc)


def records(events: Iterable[bytes]) -> bytes:
    return b"".join(record(data) for data in events)


def write_events(path: Path, events: Iterable[bytes]) -> Path:
    """An event file holding a file_version event, then `events`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(records([event(extra=bytes_field(3, "brain.Event:2")), *events]))
    return path


def record_offsets(data: bytes) -> list[int]:
    """Where each record of an event file starts (read with the framing alone)."""
    offsets, pos = [], 0
    while pos + 12 <= len(data):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<Q", data, pos)[0]
    return offsets
