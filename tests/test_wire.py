"""Wire protocol: round trips, zero-copy, and every kind of malformed message -> one WireError line."""

from __future__ import annotations

import random

import msgpack
import numpy as np
import pytest
import zmq

from simsv_stream import wire
from simsv_stream.questions.record import QA
from simsv_stream.sample import Provenance
from simsv_stream.wire import WireError


def _qa() -> QA:
    return QA(
        question_type="abs_distance",
        question="How far?",
        answer="1.5",
        answer_mode="oe",
        ground_truth=1.5,
        evidence={3: 0.2, "ids": [1, 2]},
    )


def _frames(t=4, h=32, w=32, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def _sample_parts(codec="raw", frames=None, sid=7):
    frames = _frames() if frames is None else frames
    prov = Provenance(
        sample_id=sid,
        seed=1,
        episode_seed=99,
        config_hash="abc",
        mix_version=2,
        worker_id="w0",
        render_s=0.01,
        timings={"render": 0.01},
    )
    return wire.encode_sample(
        epoch=3, sample_id=sid, frames=frames, qa=_qa(), provenance=prov, codec=codec, worker="w0"
    )


def _header(parts):
    return msgpack.unpackb(parts[0], raw=False, strict_map_key=False)


def _with_header(parts, **changes):
    h = _header(parts)
    for k, v in changes.items():
        if v is _DEL:
            h.pop(k, None)
        else:
            h[k] = v
    return [msgpack.packb(h, use_bin_type=True), *parts[1:]]


_DEL = object()


def test_raw_round_trip_is_exact():
    frames = _frames()
    ws = wire.decode(_sample_parts("raw", frames))
    assert isinstance(ws, wire.WireSample) and ws.sample_id == 7 and ws.question_type == "abs_distance"
    s = wire.decode_frames(ws)
    assert s.frames.dtype == np.uint8 and np.array_equal(s.frames, frames)
    assert s.qa.ground_truth == 1.5 and s.qa.evidence[3] == 0.2
    assert s.provenance == Provenance(
        sample_id=7,
        seed=1,
        episode_seed=99,
        config_hash="abc",
        mix_version=2,
        worker_id="w0",
        render_s=0.01,
        timings={"render": 0.01},
    )


def test_jpeg_round_trip_is_close():
    yy, xx = np.mgrid[0:32, 0:48]
    frames = np.stack([np.stack([yy * 4 + i, xx * 3, (yy + xx) * 2], -1) for i in range(3)]).astype(np.uint8)
    parts = _sample_parts("jpeg", frames)
    assert len(parts) == 1 + 3
    s = wire.decode_frames(wire.decode(parts))
    assert s.frames.shape == frames.shape
    assert np.abs(s.frames.astype(int) - frames).mean() < 4


def test_big_raw_buffers_travel_zero_copy_over_zmq():
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    a.bind("inproc://wire-test")
    b.connect("inproc://wire-test")
    frames = _frames(4, 96, 96)  # 110 KiB > 64 KiB threshold
    wire.send(a, _sample_parts("raw", frames))
    got = b.recv_multipart(copy=False)
    s = wire.decode_frames(wire.decode(got))
    assert np.array_equal(s.frames, frames)
    # a view of the received zmq frame, no copy; writable=True asks for a private copy
    assert np.shares_memory(s.frames, np.frombuffer(got[1].buffer, np.uint8))
    copied = wire.decode_frames(wire.decode(got), writable=True)
    assert not np.shares_memory(copied, np.frombuffer(got[1].buffer, np.uint8))
    a.close(0)
    b.close(0)
    ctx.term()


def test_control_messages_round_trip():
    m = wire.decode(wire.encode("hello", worker="w1", pid=12, backend="noise", host="h"))
    assert m.kind == "hello" and m["worker"] == "w1"
    m = wire.decode(
        wire.encode(
            "order",
            epoch=1,
            seed=2,
            episode_seed=3,
            scales={"frames": 4},
            codec="raw",
            items=[{"sample_id": 0, "question_type": "abs_distance", "attempt0": 0}],
        )
    )
    assert m.kind == "order" and m["items"][0]["sample_id"] == 0
    for kind in ("heartbeat", "bye", "error"):
        fields = {"heartbeat": {"worker": "w"}, "bye": {}, "error": {"reason": "x"}}[kind]
        assert wire.decode(wire.encode(kind, **fields)).kind == kind


def test_never_pickles_unknown_objects():
    with pytest.raises(WireError, match="cannot encode"):
        wire.encode("error", reason="x", extra=object())
    # numpy scalars and arrays become plain msgpack values
    m = wire.decode(wire.encode("error", reason="x", sample_id=np.int64(4), epoch=np.int32(1)))
    assert m["sample_id"] == 4 and type(m["sample_id"]) is int


BAD = {
    "empty message": lambda p: [],
    "empty header": lambda p: [b""],
    "garbage bytes": lambda p: [b"\xc1\xff\x00garbage"],
    "json, not msgpack": lambda p: [b'{"protocol": 1, "kind": "hello"}'],
    "header not a map": lambda p: [msgpack.packb([1, 2, 3])],
    "no protocol": lambda p: _with_header(p, protocol=_DEL),
    "wrong protocol": lambda p: _with_header(p, protocol=99),
    "unknown kind": lambda p: _with_header(p, kind="explode"),
    "missing field": lambda p: _with_header(p, sample_id=_DEL),
    "wrong field type": lambda p: _with_header(p, sample_id="7"),
    "truncated buffer": lambda p: [p[0], bytes(memoryview(p[1]).cast("B"))[:-10]],
    "padded buffer": lambda p: [p[0], bytes(memoryview(p[1]).cast("B")) + b"xx"],
    "missing buffer": lambda p: [p[0]],
    "extra buffer": lambda p: [*p, b"more"],
    "bad dtype": lambda p: _with_header(p, frames={**_header(p)["frames"], "dtype": "float64"}),
    "bad shape": lambda p: _with_header(p, frames={**_header(p)["frames"], "shape": [4, 32, 32]}),
    "shape lies": lambda p: _with_header(p, frames={**_header(p)["frames"], "shape": [4, 32, 16, 3]}),
    "oversized shape": lambda p: _with_header(p, frames={**_header(p)["frames"], "shape": [256, 4096, 4096, 3]}),
    "unknown codec": lambda p: _with_header(p, frames={**_header(p)["frames"], "codec": "png"}),
    "qa unknown field": lambda p: _with_header(p, qa={**_header(p)["qa"], "bogus": 1}),
    "qa bad mode": lambda p: _with_header(p, qa={**_header(p)["qa"], "answer_mode": "maybe"}),
    "provenance id mismatch": lambda p: _with_header(p, provenance={**_header(p)["provenance"], "sample_id": 8}),
    "huge header": lambda p: [msgpack.packb({"protocol": 1, "kind": "hello", "worker": "x" * (2 << 20), "pid": 1})],
    "hello with a buffer": lambda p: [wire.encode("hello", worker="w", pid=1)[0], b"x"],
    "order without items": lambda p: wire.encode(
        "order", epoch=1, seed=2, episode_seed=3, scales={}, codec="raw", items=[]
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_messages_raise_one_line_wire_error(case):
    with pytest.raises(WireError) as ei:
        wire.decode(BAD[case](_sample_parts()))
    msg = str(ei.value)
    assert msg and "\n" not in msg and len(msg) < 400


def test_jpeg_buffers_are_checked_and_decode_errors_are_wire_errors():
    parts = _sample_parts("jpeg", _frames(2, 16, 16))
    bad = [parts[0], parts[1], b"\xff\xd8" + b"\x00" * 20]  # no end marker
    with pytest.raises(WireError, match="not a complete JPEG"):
        wire.decode(_with_header(bad, frames={**_header(parts)["frames"], "sizes": [len(parts[1]), 22]}))
    corrupt = b"\xff\xd8" + b"\x11" * 30 + b"\xff\xd9"  # markers fine, content garbage
    ws = wire.decode(
        _with_header(
            [parts[0], parts[1], corrupt], frames={**_header(parts)["frames"], "sizes": [len(parts[1]), len(corrupt)]}
        )
    )
    with pytest.raises(WireError, match="does not decode"):
        wire.decode_frames(ws)


def test_max_sample_bytes_limit():
    with pytest.raises(WireError, match="over the"):
        wire.decode(_sample_parts(), max_sample_bytes=1000)


def test_fuzzed_messages_only_ever_raise_wire_error():
    rng = random.Random(0)
    good = _sample_parts(frames=_frames(2, 8, 8))
    head = bytes(good[0])
    body = bytes(memoryview(good[1]).cast("B"))
    for _ in range(400):
        h = bytearray(head)
        for _ in range(rng.randint(1, 6)):
            h[rng.randrange(len(h))] = rng.randrange(256)
        if rng.random() < 0.3:
            h = h[: rng.randrange(len(h))]
        parts = [bytes(h), body[: rng.randrange(len(body) + 1)] if rng.random() < 0.5 else body]
        try:
            wire.decode(parts)
        except WireError:
            pass
