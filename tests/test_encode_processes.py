"""`build_loader(map_method="process")`: decode + the HF processor run in encoder processes, so the
trainer process only moves tensors. Real parts: the procedural simulator in worker processes, the
ZeroMQ stream, the tiny Qwen2-VL's own processor (`VideoQACollator.encode`, pickled into the encoders).

Batches equal the in-thread ones bit for bit, ids come out once and in order, the encode provably ran
in another process (with one intra-op thread), the encoders go when the loader closes, and the
config/usage errors are one line. Timing is not tested here: see bench/trainer_cpu.py.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from _procs import alive

from simsv_stream.config import Scales
from simsv_stream.errors import ConfigError
from simsv_stream.stream import StreamConfig, build_loader
from trainers.collate import VideoQACollator
from trainers.config import DataConfig
from trainers.processing import load_processor
from trainers.tiny_model import cached_tiny_model

SAFE_MIX = "abs_distance=1 rel_direction_easy=1 object_count=1"
# 8 frames of 64x64 (98 KB decoded): above the 64 KiB from which decoded frames come back as shared memory
SCALES = Scales(frames=8, width=64, height=64).updated({"rooms": "1"})
TENSORS = ("input_ids", "attention_mask", "labels", "pixel_values_videos", "video_grid_thw")


@pytest.fixture(scope="module")
def collator(tmp_path_factory) -> VideoQACollator:
    return VideoQACollator(load_processor(str(cached_tiny_model(tmp_path_factory.getbasetemp(), "qwen2_vl"))))


class PidEncode:
    """The collator's encode, plus where it ran (module level: it pickles into the encoders)."""

    def __init__(self, collator: VideoQACollator) -> None:
        self.collator = collator

    def __call__(self, sample):
        return {**self.collator.encode(sample), "pid": os.getpid(), "threads": torch.get_num_threads()}


def _collate(collator: VideoQACollator, items: list) -> tuple:
    return collator.collate(items), [(e["pid"], e["threads"]) for e in items]


def _run(collator: VideoQACollator, method: str, *, codec: str = "jpeg", batches: int = 3, map_workers: int = 2):
    cfg = StreamConfig(
        endpoint="tcp://127.0.0.1:*",
        control_endpoint="off",
        workers=2,
        heartbeat_s=0.3,
        timeout_s=60,
        credit=2,
        codec=codec,
        scales=SCALES,
        mix=SAFE_MIX,
        seed=11,
    )
    loader = build_loader(
        cfg,
        map_fn=PidEncode(collator),
        collate_fn=functools.partial(_collate, collator),
        batch_size=2,
        map_workers=map_workers,
        prefetch=1,
        map_method=method,
    )
    try:
        it = iter(loader)
        out = [next(it) for _ in range(batches)]
    finally:
        loader.close()
    return [b for b, _ in out], [w for _, ws in out for w in ws]


def _gone(pids: set[int], timeout: float = 5.0) -> bool:
    t0 = time.monotonic()
    while any(alive(p) for p in pids):
        if time.monotonic() - t0 > timeout:
            return False
        time.sleep(0.05)
    return True


def test_process_batches_equal_thread_batches_in_order_and_encoded_elsewhere(collator):
    """JPEG frames: decode and encode both happen in the encoders."""
    by_thread, where_t = _run(collator, "thread")
    by_process, where_p = _run(collator, "process")
    ids = [[m["sample_id"] for m in b["meta"]] for b in by_process]
    assert ids == [[0, 1], [2, 3], [4, 5]]  # once each, in order
    assert ids == [[m["sample_id"] for m in b["meta"]] for b in by_thread]
    for bt, bp in zip(by_thread, by_process):
        for key in TENSORS:
            assert torch.equal(bt[key], bp[key]), key
        for mt, mp in zip(bt["meta"], bp["meta"]):
            assert np.array_equal(mt["sample"].sample.frames, mp["sample"].sample.frames)
            assert mt["sample"].sample.qa == mp["sample"].sample.qa
    assert {pid for pid, _ in where_t} == {os.getpid()}
    encoders = {pid for pid, _ in where_p}
    assert os.getpid() not in encoders and 1 <= len(encoders) <= 2
    assert {threads for _, threads in where_p} == {1}  # set up once per encoder: one intra-op thread
    assert _gone(encoders), "encoder processes outlived loader.close()"


def test_raw_frames_cross_and_map_workers_0_stays_inline(collator):
    """raw codec (the zmq frame copied to bytes for the encoder); map_workers 0 keeps its meaning:
    no parallel mapper, decode + encode inline in this process, whatever the method."""
    batches, where = _run(collator, "process", codec="raw", batches=2)
    assert [m["sample_id"] for b in batches for m in b["meta"]] == [0, 1, 2, 3]
    frames = batches[0]["meta"][0]["sample"].sample.frames
    assert frames.shape == (8, 64, 64, 3) and frames.dtype == np.uint8 and frames.any()
    assert isinstance(frames.base, torch.Tensor)  # came back as shared memory, not through the queue's pipe
    assert os.getpid() not in {pid for pid, _ in where}
    inline, where = _run(collator, "process", codec="raw", batches=1, map_workers=0)
    assert {pid for pid, _ in where} == {os.getpid()}
    for key in TENSORS:
        assert torch.equal(inline[0][key], batches[0][key]), key


KILLED_SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, os.path.dirname(sys.argv[2]))
    from test_encode_processes import PidEncode, SAFE_MIX, SCALES
    from simsv_stream.stream import StreamConfig, build_loader
    from trainers.collate import VideoQACollator
    from trainers.processing import load_processor

    if __name__ == "__main__":
        enc = PidEncode(VideoQACollator(load_processor(sys.argv[1])))
        cfg = StreamConfig(endpoint="tcp://127.0.0.1:*", control_endpoint="off", workers=1, heartbeat_s=0.3,
                           timeout_s=60, scales=SCALES, mix=SAFE_MIX)
        it = iter(build_loader(cfg, map_fn=enc, collate_fn=list, batch_size=2, map_workers=2, map_method="process"))
        print(" ".join(str(e["pid"]) for e in next(it)), flush=True)
        time.sleep(60)
""")


def test_kill9_of_the_trainer_takes_the_encoders_down(tmp_path, tmp_path_factory):
    tiny = cached_tiny_model(tmp_path_factory.getbasetemp(), "qwen2_vl")
    script = tmp_path / "trainer.py"
    script.write_text(KILLED_SCRIPT)
    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen(
        [sys.executable, str(script), str(tiny), __file__],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(root)),
    )
    try:
        encoders = {int(x) for x in p.stdout.readline().split()}
        assert encoders and p.pid not in encoders and all(alive(x) for x in encoders)
    finally:
        p.kill()  # kill -9: no atexit, no handler
        p.wait(10)
    assert _gone(encoders), "encoder processes orphaned"


def test_unpicklable_map_fn_fails_at_build_time_in_one_line():
    cfg = StreamConfig(endpoint="tcp://127.0.0.1:*", workers=0)
    with pytest.raises(ValueError) as e:
        build_loader(cfg, map_fn=lambda s: s, map_method="process")  # nothing is started
    assert "map_method='process'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="map_method must be thread or process"):
        build_loader(cfg, map_method="fork")


@pytest.mark.parametrize("value", ["fork", "threads", "", None, 2])
def test_bad_map_method_is_a_one_line_config_error(value):
    with pytest.raises(ConfigError) as e:
        DataConfig.from_any({"map_method": value})
    msg = str(e.value)
    assert e.value.field == "data.map_method" and msg.startswith("data.map_method: ") and "\n" not in msg
    assert DataConfig().map_method == "process" and DataConfig(map_method="thread").map_method == "thread"
