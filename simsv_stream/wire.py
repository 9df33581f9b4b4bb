"""Wire protocol between simulator workers and the trainer-side dispatcher.

Every message is a ZeroMQ multipart message:

* frame 0: a msgpack map (the *header*), at most ``MAX_HEADER_BYTES``, always carrying
  ``protocol`` (an int, :data:`PROTOCOL`) and ``kind`` (one of :data:`KINDS`);
* further frames: raw buffers, only for ``sample`` messages (the video frames), sent with
  ``copy=False`` when larger than ``COPY_THRESHOLD`` (64 KiB).

Frame codecs (chosen per stream, carried in each sample's header):

* ``raw``: one buffer holding the C-contiguous ``(T, H, W, 3)`` array, decoded without a copy;
* ``jpeg``: one JPEG per video frame; decoding happens trainer-side in the pipeline
  (:func:`decode_frames`, called by the ``ParallelMapper`` of :func:`simsv_stream.stream.build_loader`).

Nothing is ever pickled. :func:`decode` validates everything a peer could get wrong (protocol
version, kind, field types, sizes against shapes, dtype whitelist, JPEG markers, buffer counts) and
raises a single :class:`WireError` whose message is a one-line reason.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

import msgpack
import numpy as np

from .errors import SimsvError
from .questions.record import QA
from .sample import Provenance, Sample

PROTOCOL = 1
KINDS = ("hello", "order", "sample", "heartbeat", "error", "bye")
CODECS = ("raw", "jpeg")
DTYPES = ("uint8",)  # frame dtype whitelist (RGB video frames)
COPY_THRESHOLD = 64 * 1024  # buffers above this are sent zero-copy
MAX_HEADER_BYTES = 1 << 20  # 1 MiB: a header is a few hundred bytes
MAX_FRAMES = 256
MAX_SIDE = 4096
DEFAULT_MAX_SAMPLE_BYTES = 1 << 30  # 1 GiB of decoded frames per sample
JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"


class WireError(SimsvError):
    """A message that does not follow the protocol. The message is a one-line reason."""

    def __init__(self, reason: str):
        reason = " ".join(str(reason).split())  # one line, always
        super().__init__(reason)
        self.reason = reason


# ----------------------------------------------------------------------------------------------
# data classes for decoded messages


@dataclass
class Message:
    """A validated, decoded message. ``buffers`` is empty except for ``sample``."""

    kind: str
    header: dict[str, Any]
    buffers: list[Any] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.header[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.header.get(key, default)


@dataclass
class WireSample:
    """A received sample whose frames are still encoded (raw buffer or JPEG bytes).

    Cheap to pass around (no pixel work done yet); :func:`decode_frames` turns it into a
    :class:`~simsv_stream.sample.Sample`. ``received_at`` is the dispatcher's ``time.monotonic()``
    on arrival, ``ordered_at`` the time the order was written (same clock), for latency accounting.
    """

    sample_id: int
    header: dict[str, Any]
    buffers: list[Any]
    received_at: float = 0.0
    ordered_at: float = 0.0

    @property
    def qa(self) -> QA:
        return QA.from_dict(self.header["qa"])

    @property
    def question_type(self) -> str:
        return self.header["qa"]["question_type"]

    @property
    def provenance(self) -> Provenance:
        return Provenance(**self.header["provenance"])

    @property
    def codec(self) -> str:
        return self.header["frames"]["codec"]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.header["frames"]["shape"])

    @property
    def nbytes(self) -> int:
        return sum(_buflen(b) for b in self.buffers)


# ----------------------------------------------------------------------------------------------
# encoding


def _default(obj: Any) -> Any:
    """msgpack hook: numpy scalars/arrays and tuples-in-disguise become plain Python values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot put {type(obj).__name__} on the wire")


def pack_header(header: Mapping[str, Any]) -> bytes:
    try:
        data = msgpack.packb(dict(header), default=_default, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as e:
        raise WireError(f"cannot encode {header.get('kind', '?')} header: {e}") from None
    if len(data) > MAX_HEADER_BYTES:
        raise WireError(f"{header.get('kind', '?')} header is {len(data)} bytes, over the {MAX_HEADER_BYTES} limit")
    return data


def encode(kind: str, **fields: Any) -> list[bytes]:
    """A control-type message (everything but ``sample``): one header frame."""
    if kind not in KINDS or kind == "sample":
        raise ValueError(
            f"use encode_sample for samples; unknown kind {kind!r}" if kind != "sample" else "use encode_sample"
        )
    return [pack_header({"protocol": PROTOCOL, "kind": kind, **fields})]


def encode_frames(frames: np.ndarray, codec: str = "raw", quality: int = 90) -> tuple[dict[str, Any], list[Any]]:
    """Frames (T,H,W,3) uint8 -> (frames header, buffers)."""
    if codec not in CODECS:
        raise WireError(f"unknown codec {codec!r} (known: {', '.join(CODECS)})")
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise WireError(f"frames must be (T, H, W, 3), got shape {frames.shape}")
    if frames.dtype.name not in DTYPES:
        raise WireError(f"frames dtype {frames.dtype.name} not allowed (allowed: {', '.join(DTYPES)})")
    shape = [int(s) for s in frames.shape]
    if codec == "raw":
        if not frames.flags.c_contiguous:
            frames = np.ascontiguousarray(frames)
        return {"codec": "raw", "shape": shape, "dtype": frames.dtype.name, "sizes": [int(frames.nbytes)]}, [frames]
    from PIL import Image

    bufs = []
    for f in frames:
        out = io.BytesIO()
        Image.fromarray(f).save(out, format="JPEG", quality=int(quality))
        bufs.append(out.getvalue())
    return {
        "codec": "jpeg",
        "shape": shape,
        "dtype": frames.dtype.name,
        "sizes": [len(b) for b in bufs],
        "quality": int(quality),
    }, bufs


def encode_sample(
    *,
    epoch: int,
    sample_id: int,
    frames: np.ndarray,
    qa: QA | Mapping[str, Any],
    provenance: Provenance | Mapping[str, Any],
    codec: str = "raw",
    quality: int = 90,
    worker: str = "",
) -> list[Any]:
    """A ``sample`` message: header frame + frame buffers (ndarray/bytes, send with copy=False)."""
    fh, bufs = encode_frames(frames, codec, quality)
    header = {
        "protocol": PROTOCOL,
        "kind": "sample",
        "epoch": int(epoch),
        "sample_id": int(sample_id),
        "worker": worker,
        "frames": fh,
        "qa": {f: getattr(qa, f) for f in _QA_ORDER} if isinstance(qa, QA) else dict(qa),
        "provenance": (
            {f: getattr(provenance, f) for f in _PROVENANCE_ORDER}
            if isinstance(provenance, Provenance)
            else dict(provenance)
        ),
    }
    return [pack_header(header), *bufs]


def send(socket: Any, parts: Sequence[Any], identity: bytes | None = None) -> None:
    """Send a multipart message; buffers above COPY_THRESHOLD go zero-copy."""
    parts = list(parts)
    if identity is not None:
        parts = [identity, *parts]
    n = len(parts)
    import zmq

    for i, p in enumerate(parts):
        flags = zmq.SNDMORE if i < n - 1 else 0
        socket.send(p, flags=flags, copy=_buflen(p) < COPY_THRESHOLD)


# ----------------------------------------------------------------------------------------------
# decoding / validation


def _buflen(b: Any) -> int:
    if isinstance(b, (bytes, bytearray)):
        return len(b)
    if isinstance(b, np.ndarray):
        return int(b.nbytes)
    buf = getattr(b, "buffer", None)  # zmq.Frame
    if buf is not None:
        return buf.nbytes
    return memoryview(b).nbytes


def _bytes_view(b: Any) -> memoryview:
    buf = getattr(b, "buffer", None)
    if buf is not None:
        return buf
    return memoryview(b).cast("B") if not isinstance(b, (bytes, bytearray)) else memoryview(b)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_T_INT, _T_STR, _T_NUM, _T_DICT, _T_LIST, _T_BOOL, _T_ANY = "int", "str", "number", "map", "list", "bool", "any"
_CHECK = {
    _T_INT: _is_int,
    _T_STR: lambda v: isinstance(v, str),
    _T_NUM: _is_num,
    _T_DICT: lambda v: isinstance(v, dict),
    _T_LIST: lambda v: isinstance(v, list),
    _T_BOOL: lambda v: isinstance(v, bool),
    _T_ANY: lambda v: True,
}

# required fields per kind (optional fields are checked when present)
SCHEMA: dict[str, dict[str, str]] = {
    "hello": {"worker": _T_STR, "pid": _T_INT},
    "heartbeat": {"worker": _T_STR},
    "bye": {},
    "error": {"reason": _T_STR},
    "order": {
        "epoch": _T_INT,
        "seed": _T_INT,
        "episode_seed": _T_INT,
        "items": _T_LIST,
        "scales": _T_DICT,
        "codec": _T_STR,
    },
    "sample": {
        "epoch": _T_INT,
        "sample_id": _T_INT,
        "worker": _T_STR,
        "frames": _T_DICT,
        "qa": _T_DICT,
        "provenance": _T_DICT,
    },
}
OPTIONAL: dict[str, dict[str, str]] = {
    "hello": {"backend": _T_STR, "host": _T_STR},
    "heartbeat": {"queued": _T_INT, "done": _T_INT, "pid": _T_INT},
    "bye": {"reason": _T_STR, "worker": _T_STR},
    "error": {"sample_id": _T_INT, "epoch": _T_INT, "worker": _T_STR},
    "order": {"quality": _T_INT, "mix_version": _T_INT, "config_hash": _T_STR},
    "sample": {},
}
ORDER_ITEM = {"sample_id": _T_INT, "question_type": _T_STR, "attempt0": _T_INT}
QA_FIELDS = {
    "question_type": _T_STR,
    "question": _T_STR,
    "answer": _T_STR,
    "answer_mode": _T_STR,
    "ground_truth": _T_ANY,
}
PROVENANCE_FIELDS = {"sample_id": _T_INT, "seed": _T_INT, "episode_seed": _T_INT, "config_hash": _T_STR}
PROVENANCE_OPTIONAL = {"mix_version": _T_INT, "worker_id": _T_STR, "render_s": _T_NUM, "timings": _T_DICT}
_QA_ORDER = tuple(f.name for f in fields(QA))
_PROVENANCE_ORDER = tuple(f.name for f in fields(Provenance))
_QA_NAMES = set(_QA_ORDER)
_PROVENANCE_NAMES = set(_PROVENANCE_ORDER)


def _check_fields(d: dict, required: Mapping[str, str], optional: Mapping[str, str], where: str) -> None:
    for name, typ in required.items():
        if name not in d:
            raise WireError(f"{where}: missing field {name!r}")
        if not _CHECK[typ](d[name]):
            raise WireError(f"{where}: field {name!r} must be {typ}, got {type(d[name]).__name__}")
    for name, typ in optional.items():
        if name in d and d[name] is not None and not _CHECK[typ](d[name]):
            raise WireError(f"{where}: field {name!r} must be {typ}, got {type(d[name]).__name__}")


def unpack_header(data: Any) -> dict[str, Any]:
    n = _buflen(data)
    if n == 0:
        raise WireError("empty header frame")
    if n > MAX_HEADER_BYTES:
        raise WireError(f"header frame is {n} bytes, over the {MAX_HEADER_BYTES} limit")
    raw = data.bytes if hasattr(data, "bytes") else bytes(data)
    try:
        header = msgpack.unpackb(raw, raw=False, strict_map_key=False, use_list=True)
    except Exception as e:  # msgpack raises a zoo of types on garbage
        raise WireError(f"header is not msgpack ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise WireError(f"header must be a map, got {type(header).__name__}")
    return header


def decode(parts: Sequence[Any], *, max_sample_bytes: int = DEFAULT_MAX_SAMPLE_BYTES) -> Message | WireSample:
    """Validate and decode a multipart message (without the ROUTER identity frame).

    Returns a :class:`WireSample` for ``sample`` messages and a :class:`Message` otherwise.
    Raises :class:`WireError` with a one-line reason on anything malformed.
    """
    if not parts:
        raise WireError("empty message")
    header = unpack_header(parts[0])
    proto = header.get("protocol")
    if not _is_int(proto):
        raise WireError(f"header has no integer 'protocol' field (got {proto!r}); not a simsv-stream peer?")
    if proto != PROTOCOL:
        raise WireError(f"protocol version {proto} not supported (this side speaks {PROTOCOL})")
    kind = header.get("kind")
    if kind not in KINDS:
        raise WireError(f"unknown kind {str(kind)[:40]!r} (known: {', '.join(KINDS)})")
    _check_fields(header, SCHEMA[kind], OPTIONAL[kind], kind)
    buffers = list(parts[1:])
    if kind != "sample":
        if buffers:
            raise WireError(f"{kind} message must have 1 frame, got {len(parts)}")
        if kind == "order":
            _check_order(header)
        return Message(kind, header, [])
    return WireSample(int(header["sample_id"]), header, _check_sample(header, buffers, max_sample_bytes))


def _check_order(h: dict) -> None:
    if h["codec"] not in CODECS:
        raise WireError(f"order: unknown codec {h['codec']!r} (known: {', '.join(CODECS)})")
    if not h["items"]:
        raise WireError("order: no items")
    for i, it in enumerate(h["items"]):
        if not isinstance(it, dict):
            raise WireError(f"order: item {i} must be a map")
        _check_fields(it, ORDER_ITEM, {}, f"order item {i}")


def _check_sample(h: dict, buffers: list, max_sample_bytes: int) -> list:
    sid = h["sample_id"]
    where = f"sample {sid}"
    fr = h["frames"]
    _check_fields(fr, {"codec": _T_STR, "shape": _T_LIST, "dtype": _T_STR, "sizes": _T_LIST}, {}, f"{where} frames")
    codec, shape, dtype, sizes = fr["codec"], fr["shape"], fr["dtype"], fr["sizes"]
    if codec not in CODECS:
        raise WireError(f"{where}: unknown codec {str(codec)[:20]!r} (known: {', '.join(CODECS)})")
    if dtype not in DTYPES:
        raise WireError(f"{where}: dtype {str(dtype)[:20]!r} not allowed (allowed: {', '.join(DTYPES)})")
    if len(shape) != 4 or not all(_is_int(s) for s in shape) or shape[3] != 3:
        raise WireError(f"{where}: frames shape must be [T, H, W, 3] of integers, got {shape!r:.80}")
    t, hh, ww, _ = shape
    if not (1 <= t <= MAX_FRAMES and 1 <= hh <= MAX_SIDE and 1 <= ww <= MAX_SIDE):
        raise WireError(f"{where}: frames shape {shape} out of range (T 1..{MAX_FRAMES}, H and W 1..{MAX_SIDE})")
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if expected > max_sample_bytes:
        raise WireError(f"{where}: frames of shape {shape} are {expected} bytes, over the {max_sample_bytes} limit")
    if not all(_is_int(s) and s >= 0 for s in sizes):
        raise WireError(f"{where}: frame sizes must be non-negative integers")
    want_bufs = 1 if codec == "raw" else t
    if len(buffers) != want_bufs or len(sizes) != want_bufs:
        raise WireError(
            f"{where}: {codec} frames of shape {shape} need {want_bufs} buffer(s), "
            f"got {len(buffers)} (header lists {len(sizes)})"
        )
    for i, (b, s) in enumerate(zip(buffers, sizes)):
        n = _buflen(b)
        if n != s:
            raise WireError(f"{where}: buffer {i} is {n} bytes, header says {s} (truncated or padded)")
    if codec == "raw":
        if sizes[0] != expected:
            raise WireError(f"{where}: raw buffer is {sizes[0]} bytes, shape {shape} {dtype} needs {expected}")
    else:
        if sum(sizes) > max_sample_bytes:
            raise WireError(f"{where}: JPEG frames total {sum(sizes)} bytes, over the {max_sample_bytes} limit")
        for i, b in enumerate(buffers):
            v = _bytes_view(b)
            if len(v) < 4 or bytes(v[:2]) != JPEG_SOI or bytes(v[-2:]) != JPEG_EOI:
                raise WireError(f"{where}: buffer {i} is not a complete JPEG (bad start/end marker)")
    qa = h["qa"]
    _check_fields(qa, QA_FIELDS, {"options": _T_LIST, "evidence": _T_DICT}, f"{where} qa")
    if qa["answer_mode"] not in ("mc", "oe"):
        raise WireError(f"{where} qa: answer_mode must be 'mc' or 'oe', got {str(qa['answer_mode'])[:20]!r}")
    unknown = set(qa) - _QA_NAMES
    if unknown:
        raise WireError(f"{where} qa: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    prov = h["provenance"]
    _check_fields(prov, PROVENANCE_FIELDS, PROVENANCE_OPTIONAL, f"{where} provenance")
    unknown = set(prov) - _PROVENANCE_NAMES
    if unknown:
        raise WireError(f"{where} provenance: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    if prov["sample_id"] != sid:
        raise WireError(f"{where}: provenance names sample {prov['sample_id']}")
    return buffers


def decode_frames(ws: WireSample, writable: bool = False) -> Sample:
    """WireSample -> Sample. ``raw`` frames are a zero-copy view of the received buffer (a private
    copy with ``writable=True``); ``jpeg`` frames are decoded here (trainer side, in the pipeline)."""
    fr = ws.header["frames"]
    shape = tuple(fr["shape"])
    if fr["codec"] == "raw":
        arr = np.frombuffer(_bytes_view(ws.buffers[0]), dtype=fr["dtype"]).reshape(shape)
        if writable:
            arr = arr.copy()
    else:
        from PIL import Image

        arr = np.empty(shape, dtype=np.uint8)
        for i, b in enumerate(ws.buffers):
            try:
                with Image.open(io.BytesIO(_bytes_view(b))) as im:
                    img = np.asarray(im.convert("RGB"))
            except Exception as e:
                raise WireError(
                    f"sample {ws.sample_id}: JPEG frame {i} does not decode ({type(e).__name__}: {e})"
                ) from None
            if img.shape != shape[1:]:
                raise WireError(f"sample {ws.sample_id}: JPEG frame {i} is {img.shape}, header says {shape[1:]}")
            arr[i] = img
    try:
        qa = ws.qa
        prov = ws.provenance
    except TypeError as e:
        raise WireError(f"sample {ws.sample_id}: bad QA/provenance record ({e})") from None
    return Sample(sample_id=ws.sample_id, frames=arr, qa=qa, provenance=prov)
