"""`simsv-stream export` and MaterializedDataset: exported == streamed, read back through a DataLoader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from simsv_stream.cli import main
from simsv_stream.config import Scales
from simsv_stream.errors import ConfigError
from simsv_stream.export import (
    ANNOTATIONS,
    SUMMARY,
    MaterializedDataset,
    collate_samples,
    disk_bytes,
    export,
    plan_orders,
    read_mp4,
    write_mp4,
)
from simsv_stream.stream import Dispatcher, StreamConfig
from simsv_stream.wire import decode_frames

TINY = Scales(frames=4, width=32, height=32, rooms_min=1, rooms_max=1, questions_per_episode=2)
MAE_BOUND = 8.0  # mean abs error (0..255) of H.264 crf 18 yuv420p on 32x32 renders; measured ~3


def _cfg(**kw) -> StreamConfig:
    base = dict(
        endpoint="tcp://127.0.0.1:*",
        control_endpoint="off",
        workers=1,
        scales=TINY,
        mix="3q",
        seed=7,
        timeout_s=60.0,
        heartbeat_s=0.5,
    )
    base.update(kw)
    return StreamConfig(**base)


def test_export_matches_the_stream_and_reads_back(tmp_path):
    n = 10
    cfg = _cfg()
    with Dispatcher(cfg, log_changes=False) as d:
        streamed = [d.get() for _ in range(n)]
    res = export(tmp_path / "ex", n, cfg, workers=2)
    assert res.samples == n and res.episodes >= (n + 1) // 2
    assert res.total_bytes == disk_bytes(tmp_path / "ex") - (tmp_path / "ex" / SUMMARY).stat().st_size
    assert res.video_bytes > 0 and res.annotation_bytes > 0
    ds = MaterializedDataset(tmp_path / "ex")
    assert len(ds) == n
    for ws in streamed:
        s = ds[ws.sample_id]
        rec = ds.records[ws.sample_id]
        assert s.sample_id == ws.sample_id == rec["sample_id"]
        # same question, answer, ground truth (and the whole QA record) as the stream for this id
        assert rec["qa"] == ws.header["qa"], ws.sample_id
        assert s.provenance.episode_seed == ws.header["provenance"]["episode_seed"]
        # LLaVA-Video conversation
        conv = rec["conversations"]
        assert conv[0]["from"] == "human" and conv[0]["value"].startswith("<image>\n")
        assert ws.header["qa"]["question"] in conv[0]["value"]
        assert conv[1] == {"from": "gpt", "value": ws.header["qa"]["answer"]}
        assert rec["question_type"] == ws.question_type and rec["video"].startswith("videos/")
        # frames: lossy but close
        orig = decode_frames(ws).frames
        assert s.frames.shape == orig.shape
        mae = np.abs(s.frames.astype(np.int16) - orig.astype(np.int16)).mean()
        assert mae < MAE_BOUND, (ws.sample_id, mae)
    # one mp4 per rendered episode, samples of one group share it
    videos = {r["video"] for r in ds.records}
    assert len(videos) == res.episodes == len(list((tmp_path / "ex" / "videos").glob("*.mp4")))


def test_dataloader_with_workers_yields_every_sample_in_order(tmp_path):
    cfg = _cfg(backend="noise", scales=Scales(frames=3, width=16, height=16))
    export(tmp_path / "ex", 9, cfg, workers=1)
    dl = torch.utils.data.DataLoader(
        MaterializedDataset(tmp_path / "ex"), batch_size=4, num_workers=2, collate_fn=collate_samples
    )
    ids = [s.sample_id for b in dl for s in b]
    assert ids == list(range(9))
    assert all(s.frames.shape == (3, 16, 16, 3) for b in dl for s in b)


def test_plan_follows_questions_per_episode_and_cuts_the_last_group():
    groups = plan_orders(5, seed=0, mix="3q", scales=TINY)
    assert [[sid for sid, _ in g.items] for g in groups] == [[0, 1], [2, 3], [4]]
    assert len({g.episode_seed for g in groups}) == 3
    g2 = plan_orders(4, seed=0, mix="3q", scales=TINY, rank=1, world_size=2)
    assert [[sid for sid, _ in g.items] for g in g2] == [[1, 3], [5, 7]]


def test_odd_sizes_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 256, (1, 31, 33, 3), dtype=np.uint8), 3, axis=0)
    write_mp4(tmp_path / "v.mp4", frames, fps=2.0)
    back = read_mp4(tmp_path / "v.mp4", 31, 33)
    assert back.shape == (3, 31, 33, 3)


def test_cli_export_refuses_to_overwrite_and_reports_bytes(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = [
        "export",
        "--samples",
        "3",
        "--out",
        str(out),
        "--backend",
        "noise",
        "--frames",
        "2",
        "--size",
        "16x16",
        "--workers",
        "1",
        "--quiet",
    ]
    assert main(argv) == 0
    line = capsys.readouterr().out
    assert "exported 3 samples" in line and "MB on disk" in line
    assert len((out / ANNOTATIONS).read_text().splitlines()) == 3
    assert json.loads((out / SUMMARY).read_text())["samples"] == 3
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(argv + ["--overwrite"]) == 0
    with pytest.raises(ConfigError):
        export(tmp_path / "bad", 0, _cfg())
