"""The stream with real worker processes and sockets: ordering, exactly-once, live mix/scale/fleet
changes, crashes, malformed peers, timeouts, resume, ranks, CurveZMQ.

Most tests use the `noise` backend (deterministic synthetic frames, microseconds per sample) with
4x32x32 frames and 0.2 s heartbeats, so the transport and dispatcher logic is what is exercised;
`test_real_simulator_end_to_end` runs the real procedural simulator and question generators.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import zmq
from _procs import alive

from simsv_stream import wire
from simsv_stream.config import Scales
from simsv_stream.errors import ConfigError
from simsv_stream.stream import Dispatcher, StreamConfig, StreamControl
from simsv_stream.stream.orders import choose_type, load_mix

TINY = Scales(frames=4, width=32, height=32)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cfg(**kw) -> StreamConfig:
    base = dict(
        endpoint="tcp://127.0.0.1:*", workers=2, backend="noise", heartbeat_s=0.2, timeout_s=20.0, scales=TINY, credit=2
    )
    base.update(kw)
    return StreamConfig(**base)


def msgpack_header(frame) -> dict:
    return wire.unpack_header(frame)


def _take(d: Dispatcher, n: int) -> list:
    return [d.get() for _ in range(n)]


def _wait(pred, timeout=10.0, step=0.05):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(step)
    return False


# ----------------------------------------------------------------------------------------------
def test_in_order_exactly_once_and_deterministic_content():
    with Dispatcher(_cfg(workers=3, seed=5, backend_options={"delay_s": 0.002})) as d:
        assert _wait(lambda: len(d.status()["workers"]) == 3)
        got = _take(d, 120)
        pids = list(d.fleet.pids().values())
    assert [w.sample_id for w in got] == list(range(120))
    mix = load_mix("3q")
    for w in got:
        s = wire.decode_frames(w)
        assert s.frames.shape == (4, 32, 32, 3)
        assert s.qa.question_type == choose_type(mix, 5, w.sample_id)  # the dispatcher's choice, by id
        assert s.provenance.seed == 5 and s.provenance.sample_id == w.sample_id
    assert len({w.header["provenance"]["worker_id"] for w in got}) >= 2  # the work was shared
    assert _wait(lambda: not any(alive(p) for p in pids), 5), "workers outlived the dispatcher"


def test_mix_switch_is_exact_and_stale_samples_bounded_by_credit():
    credit, workers = 2, 2
    with Dispatcher(_cfg(workers=workers, credit=credit)) as d:
        before = _take(d, 300)
        change = StreamControl(d.control_endpoint).set_mix("appearance_order")  # over the control socket
        after = _take(d, 300)
    first = change["first_id"]
    assert {w.question_type for w in before} == set(load_mix("3q").weights)
    for w in after:
        if w.sample_id >= first:  # written after the switch
            assert w.question_type == "appearance_order"
            assert w.header["provenance"]["mix_version"] == change["version"]
    stale = [w for w in after if w.sample_id < first]
    assert len(stale) <= credit * workers
    assert [w.sample_id for w in before + after] == list(range(600))


def test_scale_change_applies_from_its_first_id_and_episode_shared_by_questions():
    with Dispatcher(_cfg(workers=2)) as d:
        _take(d, 20)
        ch = d.set_scales({"frames": "3", "size": "24x16", "questions_per_episode": 3})
        got = _take(d, 60)
        with pytest.raises(ConfigError, match="frames"):
            d.set_scales(frames=0)
    first = ch["first_id"]
    for w in got:
        assert w.shape == ((3, 16, 24, 3) if w.sample_id >= first else (4, 32, 32, 3))
    new = [w for w in got if w.sample_id >= first][:30]
    for i in range(0, len(new) - 2, 3):  # groups of 3 consecutive ids: one episode, one worker, one render
        group = [w.header["provenance"] for w in new[i : i + 3]]
        assert len({p["episode_seed"] for p in group}) == 1
        assert len({p["worker_id"] for p in group}) == 1
        assert sum(p["render_s"] > 0 for p in group) == 1
    assert len({w.header["provenance"]["episode_seed"] for w in new}) == 10


def test_kill9_and_hung_worker_ids_exact(caplog):
    caplog.set_level(logging.WARNING, logger="simsv_stream.stream")
    n = 400
    with Dispatcher(_cfg(workers=3, credit=2, backend_options={"delay_s": 0.004})) as d:
        assert _wait(lambda: len(d.status()["workers"]) == 3)
        ids = [w.sample_id for w in _take(d, 100)]
        victims = list(d.fleet.pids().values())
        os.kill(victims[0], signal.SIGKILL)  # crash
        ids += [w.sample_id for w in _take(d, 100)]
        os.kill(victims[1], signal.SIGSTOP)  # hang: misses heartbeats
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.5:  # > 3 heartbeats of 0.2 s
                ids.append(d.get().sample_id)
        finally:
            os.kill(victims[1], signal.SIGCONT)  # comes back: its late samples are duplicates
        while len(ids) < n:
            ids.append(d.get().sample_id)
        st = d.status()
    assert ids[:n] == list(range(n))
    assert len(ids) == len(set(ids))
    text = caplog.text
    assert "killed by SIGKILL" in text and "missed 3 heartbeats" in text
    assert st["reissued"] >= 1


def test_malformed_and_foreign_messages_are_rejected_stream_unaffected(caplog):
    caplog.set_level(logging.WARNING, logger="simsv_stream.stream")
    with Dispatcher(_cfg(workers=1, max_sample_bytes=1 << 20)) as d:
        ids = [w.sample_id for w in _take(d, 20)]
        ctx = zmq.Context()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IDENTITY, b"intruder")
        s.setsockopt(zmq.RCVTIMEO, 3000)
        s.connect(d.connect_endpoint)
        good = wire.encode_sample(
            epoch=d.epoch,
            sample_id=10_000,
            frames=np.zeros((4, 32, 32, 3), np.uint8),
            qa={
                "question_type": "abs_distance",
                "question": "q",
                "answer": "1",
                "answer_mode": "oe",
                "ground_truth": 1,
            },
            provenance={"sample_id": 10_000, "seed": 0, "episode_seed": 0, "config_hash": "x"},
        )
        header = bytes(good[0])
        bad = [
            [b"garbage \x00\xff bytes"],  # garbage
            [json.dumps({"protocol": 1, "kind": "hello"}).encode()],  # foreign: JSON
            wire.encode("hello", worker="x", pid=1)[:0] + [wire.pack_header({"protocol": 2, "kind": "hello"})],
            [wire.pack_header({"protocol": 1, "kind": "explode"})],  # unknown kind
            [header, bytes(memoryview(good[1]).cast("B"))[:1000]],  # truncated
            [header],  # missing buffer
            wire.encode_sample(
                epoch=0,
                sample_id=5,
                frames=np.zeros((4, 400, 400, 3), np.uint8),  # oversized
                qa={"question_type": "a", "question": "q", "answer": "1", "answer_mode": "oe", "ground_truth": 1},
                provenance={"sample_id": 5, "seed": 0, "episode_seed": 0, "config_hash": "x"},
            ),
            wire.encode(
                "order",
                epoch=0,
                seed=0,
                episode_seed=0,
                scales={},
                codec="raw",  # only we write orders
                items=[{"sample_id": 0, "question_type": "a", "attempt0": 0}],
            ),
        ]
        for parts in bad:
            wire.send(s, parts)
        replies = [wire.decode([s.recv()]) for _ in bad]
        assert all(r.kind == "error" and r["reason"].startswith("rejected") for r in replies)
        wire.send(s, good)  # well-formed, but not from a connected worker: ignored
        wire.send(s, wire.encode("heartbeat", worker="intruder"))  # joins (loopback, no keys) ...
        time.sleep(0.2)
        good[0] = wire.pack_header({**msgpack_header(good[0]), "epoch": d.epoch})
        wire.send(s, good)  # ... but its sample was never ordered: dropped by id
        ids += [w.sample_id for w in _take(d, 60)]
        st = d.status()
        s.close(0)
        ctx.term()
    assert ids == list(range(80))
    assert st["rejected"] == len(bad)
    assert st["foreign"] == 1 and st["duplicates"] == 1
    rejected_lines = [r for r in caplog.records if "rejected message" in r.getMessage()]
    assert len(rejected_lines) == len(bad)
    assert all("\n" not in r.getMessage() for r in rejected_lines)
    for phrase in (
        "not msgpack",
        "protocol version 2",
        "unknown kind",
        "bytes, header says",
        "need 1 buffer",
        "over the",
        "unexpected order",
    ):
        assert phrase in caplog.text, phrase


def test_no_worker_raises_clear_timeout_error():
    cfg = _cfg(workers=0, timeout_s=0.5)
    with Dispatcher(cfg) as d:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="no worker is connected .*simsv-stream workers --connect"):
            d.get()
        assert 0.4 < time.monotonic() - t0 < 3


def test_no_worker_timeout_through_the_loader():
    from simsv_stream.stream import build_loader

    loader = build_loader(_cfg(workers=0, timeout_s=0.5), batch_size=2)
    try:
        with pytest.raises(TimeoutError, match="no worker is connected"):
            next(iter(loader))
    finally:
        loader.close()


def test_fleet_grows_and_shrinks_live():
    with Dispatcher(_cfg(workers=1, backend_options={"delay_s": 0.002})) as d:
        ids = [w.sample_id for w in _take(d, 20)]
        d.set_scales(workers=3)
        assert _wait(lambda: len(d.status()["workers"]) == 3)
        ids += [w.sample_id for w in _take(d, 60)]
        d.set_workers(1)
        assert _wait(lambda: (lambda s: len(s["workers"]) == 1 and s["fleet_running"] == 1)(d.status()))
        ids += [w.sample_id for w in _take(d, 40)]
    assert ids == list(range(120))


def _slot_of(pid: int) -> str:
    def environ() -> bytes:  # empty until the new process's exec has finished
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return fh.read()

    assert _wait(lambda: bool(environ()))
    env = dict(kv.split(b"=", 1) for kv in environ().split(b"\0") if b"=" in kv)
    return env[b"SIMSV_WORKER_SLOT"].decode()


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="reads worker environments from /proc")
def test_fleet_slots_are_dense_and_reused():
    """Each worker gets SIMSV_WORKER_SLOT 0..N-1 (the thor backend's GPU = slot mod GPUs); a worker
    that replaces a dead one takes its slot, so GPUs stay evenly loaded."""
    from simsv_stream.stream.fleet import Fleet

    fleet = Fleet("tcp://127.0.0.1:9", backend="noise", heartbeat_s=0.2)
    try:
        ids = fleet.spawn(3)
        assert [_slot_of(fleet.procs[w].pid) for w in ids] == ["0", "1", "2"]
        fleet.procs[ids[1]].kill()
        fleet.procs[ids[1]].wait(10)
        assert [(w, exp) for w, _, exp in fleet.poll()] == [(ids[1], False)]
        (new,) = fleet.spawn(1)
        assert _slot_of(fleet.procs[new].pid) == "1" and fleet.slots == {ids[0]: 0, new: 1, ids[2]: 2}
        assert _slot_of(fleet.procs[fleet.spawn(1)[0]].pid) == "3"
    finally:
        fleet.stop()


def test_two_ranks_disjoint_and_complete():
    d0 = Dispatcher(_cfg(workers=1, rank=0, world_size=2)).start()
    d1 = Dispatcher(_cfg(workers=1, rank=1, world_size=2)).start()
    try:
        a = [w.sample_id for w in _take(d0, 60)]
        b = [w.sample_id for w in _take(d1, 60)]
    finally:
        d0.close()
        d1.close()
    assert a == list(range(0, 120, 2)) and b == list(range(1, 120, 2))
    assert not set(a) & set(b) and sorted(a + b) == list(range(120))


RESUME_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    from simsv_stream.config import Scales
    from simsv_stream.stream import StreamConfig, build_loader

    mode, path = sys.argv[1], sys.argv[2]
    cfg = StreamConfig(endpoint="tcp://127.0.0.1:*", workers=2, backend="noise", heartbeat_s=0.2, timeout_s=30,
                       scales=Scales(frames=2, width=16, height=16), credit=3, mix="3q", seed=11)

    def summary(s):
        return [s.sample_id, s.qa.question_type, hashlib.md5(s.frames.tobytes()).hexdigest(),
                s.provenance.mix_version]

    loader = build_loader(cfg, batch_size=1, map_fn=summary, collate_fn=lambda b: b[0])
    if mode == "first":
        it = iter(loader)
        seen = []
        for i in range(101):                      # samples 0..100
            seen.append(next(it))
            if i == 50:
                loader.dispatcher.set_mix("appearance_order")
        state = loader.state_dict()               # checkpoint at sample 100
        after = [next(it) for _ in range(5)]
        json.dump({"state": state, "seen": seen, "after": after}, open(path, "w"))
    else:
        d = json.load(open(path))
        loader.load_state_dict(d["state"])
        it = iter(loader)
        print(json.dumps([next(it) for _ in range(5)]))
    loader.close()
""")


def test_resume_from_checkpoint_in_a_new_process(tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    state = tmp_path / "state.json"
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, str(script), "first", str(state)], check=True, env=env, timeout=120)
    first = json.loads(state.read_text())
    assert [s[0] for s in first["seen"]] == list(range(101))
    out = subprocess.run(
        [sys.executable, str(script), "second", str(state)],
        check=True,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    ).stdout
    resumed = json.loads(out.strip().splitlines()[-1])
    assert [s[0] for s in resumed] == [101, 102, 103, 104, 105]
    assert resumed == first["after"]  # same types, same frames, same mix version
    assert all(s[1] == "appearance_order" for s in resumed)


NO_ORPHANS_SCRIPT = textwrap.dedent("""
    import sys, time
    from simsv_stream.config import Scales
    from simsv_stream.stream import Dispatcher, StreamConfig
    d = Dispatcher(StreamConfig(endpoint="tcp://127.0.0.1:*", workers=2, backend="noise", heartbeat_s=0.2,
                                scales=Scales(frames=2, width=16, height=16))).start()
    d.get(timeout=20)
    print(" ".join(str(p) for p in d.fleet.pids().values()), flush=True)
    time.sleep(60)
""")


def test_no_orphans_when_the_trainer_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(NO_ORPHANS_SCRIPT)
    p = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT)
    )
    try:
        pids = [int(x) for x in p.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(x) for x in pids)
    finally:
        p.kill()  # kill -9: no atexit, no handler
        p.wait(10)
    # the kernel's SIGTERM (PR_SET_PDEATHSIG) reaches them at once; exiting can take seconds on a loaded 2-core box
    assert _wait(lambda: not any(alive(x) for x in pids), 15), "workers orphaned"


def test_non_loopback_bind_needs_curve_keys_and_rejects_unauthenticated(tmp_path):
    from simsv_stream.stream import generate_keys

    with pytest.raises(ConfigError, match="CurveZMQ"):
        Dispatcher(_cfg(endpoint="tcp://0.0.0.0:*", workers=0)).start()
    keys = generate_keys(tmp_path / "keys")
    with Dispatcher(_cfg(endpoint="tcp://0.0.0.0:*", workers=1, curve_keys=str(keys))) as d:
        assert [w.sample_id for w in _take(d, 10)] == list(range(10))  # an authorized worker streams
        assert d.control_endpoint.startswith("tcp://127.0.0.1:")
        port = d.endpoint.rsplit(":", 1)[1]
        ctx = zmq.Context()
        intruders = []
        plain = ctx.socket(zmq.DEALER)  # no keys at all
        intruders.append(plain)
        foreign = ctx.socket(zmq.DEALER)  # keys, but not authorized
        pub, sec = zmq.curve_keypair()
        foreign.curve_serverkey = zmq.auth.load_certificate(str(keys / "server.key"))[0]
        foreign.curve_publickey, foreign.curve_secretkey = pub, sec
        intruders.append(foreign)
        for i, s in enumerate(intruders):
            s.setsockopt(zmq.IDENTITY, f"intruder{i}".encode())
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDTIMEO, 100)  # a DEALER blocks while no handshake completes
            s.connect(f"tcp://127.0.0.1:{port}")
        for _ in range(5):
            for s in intruders:
                try:
                    wire.send(s, wire.encode("hello", worker="evil", pid=1))
                    wire.send(s, [b"garbage"])
                except zmq.Again:
                    pass
            time.sleep(0.1)
        _take(d, 10)
        st = d.status()
        for s in intruders:
            s.close(0)
        ctx.term()
    assert [w["id"] for w in st["workers"] if w["id"] == "evil"] == []
    assert len(st["workers"]) == 1 and st["rejected"] == 0  # nothing of theirs ever arrived


def test_stream_config_yaml(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text(
        "stream:\n  workers: 3\n  credit: 4\n  codec: jpeg\n  endpoint: tcp://127.0.0.1:6000\n"
        "scales:\n  frames: 8\n  size: 64x48\nmix: appearance_order\n"
    )
    cfg = StreamConfig.from_yaml(f)
    assert (cfg.workers, cfg.credit, cfg.codec, cfg.scales.frames, cfg.scales.width, cfg.scales.height) == (
        3,
        4,
        "jpeg",
        8,
        64,
        48,
    )
    assert cfg.mix == "appearance_order" and cfg.resolved_control_endpoint() == "tcp://127.0.0.1:6001"
    r2 = cfg.updated(rank=2, world_size=4)  # ranks of one node never collide
    assert (r2.bind_endpoint(), r2.resolved_control_endpoint()) == ("tcp://127.0.0.1:6004", "tcp://127.0.0.1:6005")
    for text, field in (
        ("stream:\n  credit: 0\n", "credit"),
        ("stream:\n  codec: png\n", "codec"),
        ("stream:\n  bogus: 1\n", "stream.bogus"),
        ("stream:\n  mix: nope\n", "mix"),
        ("stream:\n  endpoint: 5555\n", "endpoint"),
    ):
        f.write_text(text)
        with pytest.raises(ConfigError) as ei:
            StreamConfig.from_yaml(f)
        assert ei.value.field == field


def test_cli_status_and_mix_set(capsys):
    from simsv_stream import cli

    with Dispatcher(_cfg(workers=1)) as d:
        _take(d, 5)
        assert cli.main(["status", "--endpoint", d.control_endpoint]) == 0
        out = capsys.readouterr().out
        assert "workers: 1 connected" in out and "mix v0" in out
        assert cli.main(["mix", "set", "--endpoint", d.control_endpoint, "abs_distance=1", "appearance_order=3"]) == 0
        assert "applies from sample" in capsys.readouterr().out
        assert cli.main(["mix", "set", "--endpoint", d.control_endpoint, "no_such_type"]) == 2
        assert "no_such_type" in capsys.readouterr().err
        assert cli.main(["scale", "set", "--endpoint", d.control_endpoint, "frames=2"]) == 0
        got = _take(d, 40)
    assert got[-1].shape[0] == 2
    assert {w.question_type for w in got[-10:]} <= {"abs_distance", "appearance_order"}


def test_real_simulator_end_to_end(tmp_path):
    """The default backend: the procedural simulator + question generators, via `simsv-stream stream`."""
    out = tmp_path / "s.jsonl"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "stream:\n  endpoint: tcp://127.0.0.1:*\n  workers: 2\n  heartbeat_s: 0.5\n  timeout_s: 60\n"
        "  codec: jpeg\nscales:\n  frames: 4\n  size: 48x48\nmix: 3q\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simsv_stream.cli",
            "stream",
            "--config",
            str(cfg),
            "--samples",
            "12",
            "--out",
            str(out),
        ],
        check=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == list(range(12))
    assert {x["type"] for x in lines} <= set(load_mix("3q").weights)
    assert all(x["shape"] == [4, 48, 48, 3] and x["latency_s"] > 0 and x["worker"] for x in lines)


def test_real_simulator_through_build_loader():
    from simsv_stream.sample import Sample
    from simsv_stream.stream import build_loader

    cfg = _cfg(
        backend="procedural",
        workers=2,
        codec="jpeg",
        heartbeat_s=0.5,
        timeout_s=60,
        scales=Scales(frames=4, width=48, height=48),
        mix="abs_distance=1 appearance_order=1",
    )
    loader = build_loader(
        cfg,
        batch_size=3,
        map_fn=lambda s: s,
        collate_fn=lambda b: ([s.sample_id for s in b], np.stack([s.frames for s in b]), b),
    )
    try:
        batches = []
        for batch in loader:
            batches.append(batch)
            if len(batches) == 3:
                break
        st = loader.dispatcher.status()
    finally:
        loader.close()
    assert [i for b in batches for i in b[0]] == list(range(9))
    for ids, frames, samples in batches:
        assert frames.shape == (3, 4, 48, 48, 3) and frames.dtype == np.uint8 and frames.std() > 5
        for s in samples:
            assert isinstance(s, Sample) and s.qa.question_type in ("abs_distance", "appearance_order")
            assert s.qa.question and s.qa.answer
    assert st["produced"] >= 9


def test_unaskable_types_retry_deterministically_and_failures_surface():
    from simsv_stream.stream import StreamError

    # every 3rd (episode, type) is not askable: the worker tries the next deterministic episode
    with Dispatcher(_cfg(workers=2, backend_options={"none_every": 3})) as d:
        got = _take(d, 60)
    assert [w.sample_id for w in got] == list(range(60))
    retried = [w for w in got if w.header["provenance"]["episode_seed"] != _group_seed(w.sample_id)]
    assert retried, "no order needed a second episode"
    # a type whose generation always fails: re-issued max_attempts times, then a clear StreamError
    with Dispatcher(
        _cfg(workers=2, mix="appearance_order", max_attempts=2, backend_options={"fail_types": ["appearance_order"]})
    ) as d:
        with pytest.raises(StreamError, match=r"sample \d+ \(appearance_order\) failed 2 times, last: RuntimeError"):
            d.get(timeout=10)


def _group_seed(sid: int) -> int:
    from simsv_stream.stream.orders import episode_seed

    return episode_seed(0, sid)


def test_external_workers_command_and_control_errors():
    with Dispatcher(_cfg(workers=0)) as d:
        p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simsv_stream.cli",
                "workers",
                "--connect",
                d.connect_endpoint,
                "-n",
                "2",
                "--backend",
                "noise",
                "--heartbeat",
                "0.2",
                "--log-level",
                "WARNING",
            ],
            env=dict(os.environ, PYTHONPATH=ROOT),
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert [w.sample_id for w in _take(d, 40)] == list(range(40))
            assert _wait(lambda: len(d.status()["workers"]) == 2)
            pids = [w["pid"] for w in d.status()["workers"]]
            ctl = StreamControl(d.control_endpoint)
            from simsv_stream.stream import ControlError

            with pytest.raises(ControlError, match="unknown op"):
                ctl.request({"op": "explode"})
            with pytest.raises(ControlError, match="unknown scale"):
                ctl.set_scales(bogus=1)
        finally:
            p.terminate()
            p.wait(10)
        assert _wait(lambda: not any(alive(x) for x in pids), 5), "workers outlived `simsv-stream workers`"
    assert p.returncode == 0


def test_real_samples_are_a_pure_function_of_seed_id_and_scales():
    """Same (seed, id, scales, mix): same frames and QA, whichever worker (and however many) made them."""
    import hashlib

    def run(workers):
        cfg = _cfg(
            backend="procedural",
            workers=workers,
            heartbeat_s=0.5,
            timeout_s=60,
            seed=3,
            scales=Scales(frames=4, width=48, height=48),
        )
        with Dispatcher(cfg) as d:
            out = []
            for w in _take(d, 8):
                s = wire.decode_frames(w)
                out.append(
                    (
                        s.sample_id,
                        s.qa.to_dict(),
                        hashlib.sha1(s.frames.tobytes()).hexdigest(),
                        s.provenance.episode_seed,
                    )
                )
            return out

    assert run(1) == run(2)


CRASHING_DISPATCHER = textwrap.dedent("""
    import sys, time
    from simsv_stream.config import Scales
    from simsv_stream.stream import Dispatcher, StreamConfig
    d = Dispatcher(StreamConfig(endpoint=sys.argv[1], control_endpoint="off", workers=0, backend="noise",
                                heartbeat_s=0.2, scales=Scales(frames=2, width=16, height=16), mix="3q")).start()
    print(" ".join(str(d.get(timeout=20).sample_id) for _ in range(5)), flush=True)
    time.sleep(60)
""")


def test_external_worker_rejoins_a_restarted_dispatcher(tmp_path):
    """A dispatcher that dies without a bye (kill -9): its worker reconnects to the next one on the same
    address, and nothing ordered by the dead one is taken for the new one's samples."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        ep = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    env = dict(os.environ, PYTHONPATH=ROOT)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simsv_stream.stream.worker",
            "--connect",
            ep,
            "--id",
            "ext",
            "--backend",
            "noise",
            "--heartbeat",
            "0.2",
            "--log-level",
            "WARNING",
        ],
        env=env,
    )
    script = tmp_path / "dispatcher.py"
    script.write_text(CRASHING_DISPATCHER)
    first = subprocess.Popen([sys.executable, str(script), ep], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert first.stdout.readline().split() == ["0", "1", "2", "3", "4"]
        first.kill()
        first.wait(10)
        cfg = _cfg(endpoint=ep, workers=0, mix="appearance_order", scales=Scales(frames=3, width=16, height=16))
        with Dispatcher(cfg) as d:
            got = _take(d, 20)
        assert [w.sample_id for w in got] == list(range(20))
        assert all(w.question_type == "appearance_order" and w.shape[0] == 3 for w in got)
    finally:
        first.kill()
        worker.terminate()
        worker.wait(10)


def test_restart_from_a_state_in_process_and_bad_states_refused():
    with Dispatcher(_cfg(workers=2, seed=9)) as d:
        first = _take(d, 30)
        st = d.state()
        d.set_mix("appearance_order")  # after the checkpoint: the restored state undoes it
        more = _take(d, 10)
        for bad in (
            {**st, "rank": 1},
            {**st, "seed": 1},
            {**st, "format": 99},
            {k: v for k, v in st.items() if k != "orders"},
        ):
            with pytest.raises(ConfigError, match="resume"):
                d.restart(bad)
        d.restart(st)
        again = _take(d, 10)
    assert [w.sample_id for w in first] == list(range(30))
    assert [w.sample_id for w in again] == list(range(30, 40))
    for a, b in zip(more, again):  # same orders (the checkpoint re-issues them), same content
        assert a.sample_id == b.sample_id
        assert (a.question_type, a.header["provenance"]["episode_seed"]) == (
            b.question_type,
            b.header["provenance"]["episode_seed"],
        ) or a.sample_id >= st["next_write_id"]
        assert bytes(a.buffers[0].buffer) == bytes(b.buffers[0].buffer) or a.sample_id >= st["next_write_id"]
