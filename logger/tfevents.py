"""TensorBoard event files (`events.out.tfevents.*`) decoded without TensorFlow or the protobuf package.

An event file is a run of TFRecords: a uint64 length (little endian), the masked CRC-32C of those 8
bytes, the data, and the masked CRC-32C of the data. Each record's data is an `Event` message
(tensorboard/compat/proto/event.proto): wall_time=1 (double, seconds), step=2 (int64), summary=5
(`Summary`: repeated value=1, each `Value` with tag=1 and simple_value=2, image=4, tensor=8,
metadata=9). logger/tfevents_values.py reads what a value holds beyond a plain scalar.

`EventFileContent.feed` takes the bytes after the last complete record and folds every complete
record into the file's content; the source (logger/sources/tensorboard.py) keeps the offset, so a
growing file is read once. What is checked, and what that costs:
- The length checksum of every record is verified (cached by length value, so it costs one dict
  look-up): a damaged length would otherwise send the reader into a huge read or into the middle of
  a record. A damaged length, or a length above MAX_RECORD, stops reading the file with a problem.
- The data checksum is not verified for records that decode: pure-Python CRC-32C would cost more
  than decoding. A record that does not decode is checked: with a bad checksum it is damage and
  reading the file stops; with a good one it is content this reader does not understand, and it is
  skipped with a problem.
- A record not all there yet (a file being written) is left for the next read.

Scalars written as `simple_value` (tensorboardX, torch.utils.tensorboard, TF1) and TF2's float32
scalar tensors take a fast path that reads the bytes in place; everything else goes through
`logger.protowire.fields`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .model import Artifact, MetricHistory
from .protowire import DOUBLE, FLOAT, INT64_SIGN, as_int64, fields, masked_crc, read_varint, skip_field
from .tfevents_values import (
    hparams_record,
    image_extension,
    plugin_data,
    tag_path,
    tensor_number,
    tensor_strings,
)

EVENT_FILE_PREFIX = "events.out.tfevents."
HEADER = 12  # length (8) and its checksum (4)
FOOTER = 4  # the data's checksum
MAX_RECORD = 128 << 20  # a longer record is taken for damage: nothing is allocated for it
MAX_TEXT = 65_536  # characters kept of one text summary
MAX_PROBLEMS = 20  # unreadable records listed per file
MAX_MS = 1 << 62  # wall times beyond this (or not finite) are read as 0
MAX_SECONDS = MAX_MS // 1000

_HEADER = struct.Struct("<QI").unpack_from
_CRC = struct.Struct("<I").unpack_from
_LENGTH_CRCS: dict[int, int] = {}  # length -> masked CRC of its 8 bytes: records repeat a few lengths
_MAX_CACHED_LENGTHS = 65_536
# The two common scalars, read in place. Event: wall_time=1, step=2, then summary=5 { value=1 { tag=1 (T bytes),
# then either simple_value=2 (a float32: tensorboardX, torch, TF1) or a float32 scalar tensor=8 (TF2):
# {dtype=1: DT_FLOAT, tensor_shape=2: {}, tensor_content=4: 4 bytes} } }. By the bytes from the summary's key
# to the record's end (`rest`), the 6 bytes before the tag: 2A (rest - 2) 0A (rest - 4) 0A T.
_SCALAR_PREFIXES = [bytes((0x2A, rest - 2, 0x0A, rest - 4, 0x0A, rest - 11)) if rest >= 11 else None
                    for rest in range(130)]
_TENSOR_PREFIXES = [bytes((0x2A, rest - 2, 0x0A, rest - 4, 0x0A, rest - 18)) if rest >= 18 else None
                    for rest in range(130)]
_FLOAT_SCALAR_TENSOR = b"\x42\x0a\x08\x01\x12\x00\x22\x04"  # tensor=8 (10 bytes) up to its 4 content bytes
_Appenders = tuple[Callable[[int], None], Callable[[float], None], Callable[[int], None]]  # steps, values, times


def _add(append: _Appenders, value: float, step: int, ms: int) -> None:
    append[0](step)
    append[1](value)
    append[2](ms)


class EventFileContent:
    """What one event file held, up to its last complete record."""

    def __init__(self, path: str):
        self.path = path  # absolute: image artifacts are read back from it
        self.metrics: dict[str, MetricHistory] = {}
        self.params: dict[str, Any] = {}
        self.hparams_session = False  # an hparams session_start_info was read
        self.end_status: int | None = None  # hparams session_end_info status (api.proto Status)
        self.end_time: int | None = None
        self.texts: dict[str, str] = {}  # tag -> its last text
        self.artifacts: list[Artifact] = []
        self._earliest = MAX_MS + 1  # the earliest and latest wall times of its events, ms
        self._latest = -MAX_MS - 1
        self.problems: list[str] = []
        self.unlisted_problems = 0
        self.stopped: str | None = None  # why reading this file stopped for good
        self.need = HEADER  # bytes the next record needs, counted from where `feed` stopped
        self._scalars: dict[bytes, _Appenders] = {}  # raw tag -> its history's appends, for simple_value scalars
        self._tensor_scalars: dict[bytes, _Appenders] = {}  # the same for TF2 scalar tensors
        self._plugins: dict[str, str] = {}  # tag -> the plugin its first metadata named

    def feed(self, buf: bytes, base: int) -> int:
        """Fold every complete record of `buf` (the file's bytes from offset `base`) in; the bytes used.

        Afterwards `need` is how many bytes, from the end of the used part, the next record needs, and
        `stopped` is set when the framing is damaged (nothing more is read from this file)."""
        pos, end = 0, len(buf)
        length_crcs, prefixes, tensor_prefixes = _LENGTH_CRCS, _SCALAR_PREFIXES, _TENSOR_PREFIXES
        scalars, tensor_scalars = self._scalars, self._tensor_scalars
        event = self._event
        earliest, latest = self._earliest, self._latest  # locals in the loop: attributes cost a third more
        low, high = -MAX_SECONDS, MAX_SECONDS
        self.need = HEADER
        while pos + HEADER <= end:
            length, length_crc = _HEADER(buf, pos)
            expected = length_crcs.get(length)
            if expected is None:
                expected = masked_crc(buf[pos:pos + 8])
                if len(length_crcs) < _MAX_CACHED_LENGTHS:
                    length_crcs[length] = expected
            if expected != length_crc:
                self.stopped = f"record at byte {base + pos}: damaged length (checksum mismatch); reading stopped"
                break
            if length > MAX_RECORD:
                self.stopped = f"record at byte {base + pos}: {length} bytes long, over {MAX_RECORD}; reading stopped"
                break
            start = pos + HEADER
            stop = start + length
            if stop + FOOTER > end:
                self.need = HEADER + length + FOOTER
                break
            try:
                # The two common scalars, read in place (see _SCALAR_PREFIXES)
                if buf[start] == 0x09:
                    p = start + 9
                    step = 0
                    if buf[p] == 0x10:  # the step's varint, its first three bytes unrolled
                        step = buf[p + 1]
                        if step < 0x80:
                            p += 2
                        elif buf[p + 2] < 0x80:
                            step = (step & 0x7F) | buf[p + 2] << 7
                            p += 3
                        elif buf[p + 3] < 0x80:
                            step = (step & 0x7F) | (buf[p + 2] & 0x7F) << 7 | buf[p + 3] << 14
                            p += 4
                        else:
                            step, p = read_varint(buf, p + 1)
                            if step >= INT64_SIGN:
                                step = as_int64(step)
                    rest = stop - p
                    if 10 < rest < 130:
                        head = buf[p:p + 6]
                        append = None
                        if head == prefixes[rest] and buf[stop - 5] == 0x15:
                            append = scalars.get(buf[p + 6:stop - 5]) or self._appender(buf[p + 6:stop - 5], scalars)
                        elif head == tensor_prefixes[rest] and buf[stop - 12:stop - 4] == _FLOAT_SCALAR_TENSOR:
                            append = tensor_scalars.get(buf[p + 6:stop - 12])  # None until its plugin is known
                        wall = DOUBLE(buf, start + 1)[0]
                        if append is not None and low < wall < high:  # NaN or out of range: the long way
                            ms = int(wall * 1000.0)
                            if ms > latest:
                                latest = ms
                            if ms < earliest:
                                earliest = ms
                            append[0](step)
                            append[1](FLOAT(buf, stop - 4)[0])
                            append[2](ms)
                            pos = stop + FOOTER
                            continue
                ms = event(buf, start, stop, base)
                if ms and ms > latest:  # 0: the event has no time
                    latest = ms
                if ms and ms < earliest:
                    earliest = ms
            except (ValueError, IndexError, OverflowError, struct.error) as error:
                if masked_crc(buf[start:stop]) != _CRC(buf, stop)[0]:
                    self.stopped = f"record at byte {base + pos}: damaged data (checksum mismatch); reading stopped"
                    break
                self.problem(f"record at byte {base + pos}: not a readable Event ({error}); skipped")
            pos = stop + FOOTER
        self._earliest, self._latest = earliest, latest
        return pos

    @property
    def first_time(self) -> int | None:
        return self._earliest if self._earliest <= MAX_MS else None

    @property
    def last_time(self) -> int | None:
        return self._latest if self._latest >= -MAX_MS else None

    def problem(self, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(reason)
        else:
            self.unlisted_problems += 1

    def _event(self, buf: bytes, pos: int, end: int, base: int) -> int:
        """One Event: its time and step, then its summary's values; its time (ms)."""
        wall = 0.0
        step = 0
        summary = summary_end = -1
        while pos < end:
            key = buf[pos]
            if key == 0x09:  # wall_time: double
                wall = DOUBLE(buf, pos + 1)[0]
                pos += 9
            elif key == 0x10:  # step: int64 varint
                byte = buf[pos + 1]
                if byte < 0x80:
                    step = byte
                    pos += 2
                else:
                    step, pos = read_varint(buf, pos + 1)
                    step = as_int64(step)
            elif key == 0x2A:  # summary: length-delimited
                size = buf[pos + 1]
                if size < 0x80:
                    summary = pos + 2
                else:
                    size, summary = read_varint(buf, pos + 1)
                pos = summary_end = summary + size
            else:  # file_version, graph_def, session_log...: not read
                pos = skip_field(buf, pos)
        if pos != end:
            raise ValueError("a field runs past the record")
        try:
            ms = int(wall * 1000.0)
        except (ValueError, OverflowError):
            ms = 0
        if ms > MAX_MS or ms < -MAX_MS:
            ms = 0
        if summary_end >= 0:
            self._summary(buf, summary, summary_end, step, ms, base)
        return ms

    def _summary(self, buf: bytes, pos: int, end: int, step: int, ms: int, base: int) -> None:
        scalars = self._scalars
        while pos < end:
            if buf[pos] != 0x0A:  # not a value
                pos = skip_field(buf, pos)
                continue
            size = buf[pos + 1]
            if size < 0x80:
                start = pos + 2
            else:
                size, start = read_varint(buf, pos + 1)
            pos = start + size
            if pos > end:
                raise ValueError("a summary value runs past its summary")
            if size > 2 and buf[start] == 0x0A:
                tag_size = buf[start + 1]
                if tag_size < 0x80:
                    tag_end = start + 2 + tag_size
                    # tag, then simple_value and nothing else: the common scalar
                    if tag_size + 7 == size and buf[tag_end] == 0x15:
                        append = scalars.get(buf[start + 2:tag_end])
                        if append is None:
                            append = self._appender(buf[start + 2:tag_end], scalars)
                        _add(append, FLOAT(buf, tag_end + 1)[0], step, ms)
                        continue
                    # tag, then a float32 scalar tensor of a tag known to be a scalar (TF2)
                    if tag_size + 14 == size and buf[tag_end:tag_end + 8] == _FLOAT_SCALAR_TENSOR:
                        append = self._tensor_scalars.get(buf[start + 2:tag_end])
                        if append is not None:
                            _add(append, FLOAT(buf, tag_end + 8)[0], step, ms)
                            continue
            self._value(buf, start, pos, step, ms, base)

    def _appender(self, raw_tag: bytes, index: dict[bytes, _Appenders]) -> _Appenders:
        """The appends of the tag's history (made on its first point), kept in `index` under the raw tag."""
        tag = raw_tag.decode("utf-8", "replace")
        history = self.metrics.get(tag)
        if history is None:
            history = self.metrics[tag] = MetricHistory(tag)
        append = index[raw_tag] = (history.steps.append, history.values.append, history.timestamps.append)
        return append

    def _value(self, buf: bytes, start: int, end: int, step: int, ms: int, base: int) -> None:
        """A summary value off the fast path: scalars with metadata, tensors, images, hparams, text."""
        raw_tag = b""
        simple = None
        image = tensor = metadata = None
        for number, wire, a, b in fields(buf, start, end):
            if wire == 2:
                if number == 1:
                    raw_tag = buf[a:b]
                elif number == 4:
                    image = (a, b)
                elif number == 8:
                    tensor = (a, b)
                elif number == 9:
                    metadata = (a, b)
            elif number == 2 and wire == 5:
                simple = FLOAT(buf, a)[0]
        tag = raw_tag.decode("utf-8", "replace")
        content = None
        if metadata is not None:
            plugin, content = plugin_data(buf, *metadata)
            if plugin:
                self._plugins[tag] = plugin
        plugin = self._plugins.get(tag, "")
        if simple is not None:
            _add(self._scalars.get(raw_tag) or self._appender(raw_tag, self._scalars), simple, step, ms)
        elif plugin == "hparams":
            if content is not None:
                self._hparams(buf[content[0]:content[1]])
        elif image is not None:
            self._image(buf, image, tag, step, base)
        elif tensor is not None:
            self._tensor(buf, tensor, raw_tag, tag, plugin, step, ms, base)

    def _tensor(self, buf: bytes, tensor: tuple[int, int], raw_tag: bytes, tag: str, plugin: str,
                step: int, ms: int, base: int) -> None:
        if plugin == "scalars" or not plugin:
            # a tensor without a plugin is a scalar when it holds one number (tf.summary.tensor_summary)
            value = tensor_number(buf, *tensor, require_numeric=not plugin)
            if value is not None:
                index = self._tensor_scalars if plugin else self._scalars
                _add(index.get(raw_tag) or self._appender(raw_tag, index), value, step, ms)
        elif plugin == "text":
            pieces = [buf[a:b].decode("utf-8", "replace") for a, b in tensor_strings(buf, *tensor)]
            self.texts[tag] = "\n".join(pieces)[:MAX_TEXT]
        elif plugin == "images":  # TF2: strings [width, height, image, image...]
            images = tensor_strings(buf, *tensor)[2:]
            for number, (a, b) in enumerate(images):
                self._add_image(buf, a, b, tag, f"step-{step}-{number}" if len(images) > 1 else f"step-{step}", base)

    def _image(self, buf: bytes, image: tuple[int, int], tag: str, step: int, base: int) -> None:
        """Summary.Image: height=1, width=2, colorspace=3, encoded_image_string=4."""
        for number, wire, a, b in fields(buf, *image):
            if number == 4 and wire == 2:
                self._add_image(buf, a, b, tag, f"step-{step}", base)

    def _add_image(self, buf: bytes, start: int, end: int, tag: str, name: str, base: int) -> None:
        path = f"images/{tag_path(tag)}/{name}.{image_extension(buf[start:start + 12])}"
        self.artifacts.append(Artifact(path, end - start, blob=(self.path, base + start, end - start)))

    def _hparams(self, data: bytes) -> None:
        record = hparams_record(data)
        if record.params is not None:
            self.params.update(record.params)
            self.hparams_session = True
        if record.status is not None:
            self.end_status = record.status
            end = record.end_time
            self.end_time = int(end * 1000.0) if end and abs(end) < MAX_MS / 1000 else None
