"""The trainer fed by the real stream (procedural simulator, worker processes, sockets): DataModule
lifecycle (no orphans on failure or Ctrl-C), curriculum schedule at exact steps, metrics, held-out eval
from a reserved seed, checkpoint/resume continuing sample ids, worker crash mid-training, the live
control CLI during training, DDP with 2 CPU ranks, and `simsv-stream eval --model` on a VSI-Bench file.

Tiny everything: the tiny Qwen2-VL, 4 frames of 32x32 from 1-room houses, batches of 2, a mix of
question types that are askable at that scale (appearance_order is not: 4 frames rarely show 4
categories in distinct frames).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pytest
from _procs import alive

from simsv_stream.config import Scales
from simsv_stream.stream import StreamConfig
from trainers.callbacks import CurriculumCallback, StreamMetricsCallback
from trainers.datamodule import StreamDataModule, worker_pids
from trainers.module import VideoVLMModule
from trainers.run_config import ScheduleEntry
from trainers.tiny_model import cached_tiny_model

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo.yaml"
SAFE_MIX = "abs_distance=1 rel_direction_easy=1 object_count=1"
TINY = [
    "--scales.frames",
    "4",
    "--scales.size",
    "32x32",
    "--scales.rooms",
    "1",
    "--mix",
    SAFE_MIX,
    "--data.batch_size",
    "2",
    "--data.map_workers",
    "1",
    "--data.log_samples",
    "true",
    "--trainer.enable_progress_bar",
    "false",
    "--stream.heartbeat_s",
    "0.5",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return cached_tiny_model(tmp_path_factory.getbasetemp(), "qwen2_vl")


def _samples(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _module(tiny: Path) -> VideoVLMModule:
    return VideoVLMModule({"path": str(tiny)}, {"r": 4, "alpha": 8, "dropout": 0.0}, {"lr": 1e-3, "warmup_steps": 0})


def _datamodule(module: VideoVLMModule, **kw) -> StreamDataModule:
    scfg = StreamConfig(
        endpoint="tcp://127.0.0.1:*",
        workers=2,
        heartbeat_s=0.3,
        timeout_s=60,
        credit=1,
        scales=Scales(frames=4, width=32, height=32).updated({"rooms": "1"}),
        mix=SAFE_MIX,
        seed=7,
    )
    kw = {"batch_size": 2, "map_workers": 1, "prefetch": 1, "announce": False, **kw}
    return StreamDataModule(scfg, module.collator.encode, module.collator.collate, **kw)


def _trainer(steps: int, callbacks: list, **kw) -> L.Trainer:
    kw = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "limit_val_batches": 0,
        **kw,
    }
    return L.Trainer(max_steps=steps, accelerator="cpu", devices=1, callbacks=callbacks, **kw)


# ------------------------------------------------------------------------------------------------
def test_cli_train_schedule_metrics_eval_and_resume_continues_ids(tiny, tmp_path, capsys):
    """`simsv-stream train` on the real stream: the schedule applies at its steps (with the first
    sample id it applies to), metrics reach the CSV, the held-out table prints; resuming the 6-step run
    from its step-3 checkpoint trains exactly the ids the first run trained after step 3."""
    from simsv_stream.cli import main

    sched = "schedule=[{at_step: 2, mix: rel_direction_easy}, {at_step: 4, mix: object_count}]"
    a, b = tmp_path / "a", tmp_path / "b"
    common = [
        "train",
        "--config",
        str(DEMO),
        "--model.path",
        str(tiny),
        "--trainer.max_steps",
        "6",
        "--trainer.log_every_n_steps",
        "2",
        "--checkpoint-every",
        "3",
        sched,
        *TINY,
    ]
    assert main([*common, "--output_dir", str(a), "--eval.samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "control endpoint tcp://127.0.0.1:" in out and "simsv-stream mix set --endpoint" in out
    assert "curriculum: step 2: schedule[0] mix rel_direction_easy; applies from sample" in out
    assert "curriculum: step 4: schedule[1] mix object_count; applies from sample" in out
    assert "overall (VSI-Bench)" in out and "data-wait fraction" in out
    run_a = _samples(a / "samples" / "rank0.jsonl")
    assert [s["id"] for s in run_a] == list(range(12))  # from id 0, no gap, no repeat
    assert [s["step"] for s in run_a] == [i // 2 for i in range(12)]
    metrics = next((a / "csv").rglob("metrics.csv")).read_text().splitlines()
    header = metrics[0].split(",")
    for col in (
        "stream/data_wait_frac",
        "stream/samples_per_s_consumed",
        "stream/samples_per_s_produced",
        "stream/orders_in_flight",
        "stream/render_s_per_sample",
        "train/loss_window",
        "curriculum/first_id",
    ):
        assert col in header, col
    assert any(c.startswith("types/") for c in header)
    ckpt = a / "checkpoints" / "epoch=0-step=3.ckpt"
    assert ckpt.is_file() and (a / "final" / "adapter_config.json").is_file() and (a / "eval.json").is_file()

    assert main([*common, "--output_dir", str(b), "--eval.samples", "0", "--resume", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "curriculum: re-applied schedule[0] (at_step 2) after resume at step 3" in out
    assert "curriculum: step 4: schedule[1]" in out and "schedule[0] mix" not in out.replace(
        "re-applied schedule[0]", ""
    )
    run_b = _samples(b / "samples" / "rank0.jsonl")
    assert [s["id"] for s in run_b] == [s["id"] for s in run_a[6:]] == list(range(6, 12))
    assert [s["step"] for s in run_b] == [3, 3, 4, 4, 5, 5]
    for s in run_b:  # the mix in force after resume is the schedule's (v1 re-applied, v2 at step 4)
        assert s["type"] == {0: s["type"], 1: "rel_direction_easy", 2: "object_count"}[s["mix_version"]]


def test_worker_kill9_and_live_mix_cli_during_fit_and_reserved_eval_seed(tiny, tmp_path, caplog):
    """kill -9 of a worker mid-training: training goes on, ids stay exact, the event is logged. The
    live `simsv-stream mix set` reaches the training batches from the id it reports. The held-out set
    comes from the reserved seed, disjoint from training; validation after fit needs no workers."""
    from simsv_stream.cli import main

    caplog.set_level(logging.INFO)
    module = _module(tiny)
    dm = _datamodule(module, eval_samples=4, eval_seed_offset=1000, sample_log_dir=tmp_path)
    seen: dict = {"pids": set(), "trained": []}

    class Chaos(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen["pids"] |= set(worker_pids(dm))
            seen["trained"] += [m["sample"].sample for m in batch["meta"]]
            if trainer.global_step == 2:
                seen["killed"] = worker_pids(dm)[0]
                os.kill(seen["killed"], signal.SIGKILL)
            if trainer.global_step == 4:
                assert main(["mix", "set", "--endpoint", dm.dispatcher.control_endpoint, "temporal_order=1"]) == 0
                seen["first_id"] = dm.dispatcher.status()["changes"][-1]["first_id"]

    metrics = StreamMetricsCallback(every_n_steps=2)
    trainer = _trainer(14, [Chaos(), metrics])
    trainer.fit(module, datamodule=dm)
    assert trainer.global_step == 14 and dm.dispatcher is None
    ids = [s["id"] for s in _samples(tmp_path / "rank0.jsonl")]
    assert ids == list(range(28))
    # the dispatcher notices the death either by the process exit or by the failed send of an order
    assert any(f"(pid {seen['killed']}) lost: " in r.getMessage() for r in caplog.records)
    assert metrics.history and all("stream/data_wait_frac" in h for h in metrics.history)
    after = [s for s in seen["trained"] if s.sample_id >= seen["first_id"]]
    assert after and all(s.qa.question_type == "temporal_order" for s in after)
    assert all(s.qa.question_type != "temporal_order" for s in seen["trained"] if s.sample_id < seen["first_id"])
    assert not [p for p in seen["pids"] if alive(p)]

    # held-out set: reserved seed, never a training episode
    assert len(dm.eval_set) == 4 and {s.provenance.seed for s in dm.eval_set} == {7 + 1000}
    assert {s.provenance.seed for s in seen["trained"]} == {7}
    assert not {s.provenance.episode_seed for s in dm.eval_set} & {s.provenance.episode_seed for s in seen["trained"]}
    trainer = _trainer(14, [], limit_val_batches=None)
    trainer.validate(module, datamodule=dm, verbose=False)
    assert dm.dispatcher is None and module.last_eval is not None and module.last_eval.n == 4


def test_failing_fit_and_ctrl_c_leave_no_worker_processes(tiny):
    module = _module(tiny)
    for exc, expect in ((RuntimeError("boom"), RuntimeError), (KeyboardInterrupt(), SystemExit)):
        dm = _datamodule(module)
        pids: list[int] = []

        class Fail(L.Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                pids.extend(worker_pids(dm))
                if trainer.global_step == 2:
                    raise exc

        sigint = signal.getsignal(signal.SIGINT)
        try:
            with pytest.raises(expect):
                _trainer(10, [Fail()]).fit(module, datamodule=dm)
        finally:
            signal.signal(signal.SIGINT, sigint)  # Lightning ignores SIGINT after a KeyboardInterrupt
        assert pids and dm.dispatcher is None
        assert not [p for p in set(pids) if alive(p)], f"orphan workers after {type(exc).__name__}"


def test_curriculum_applies_at_exact_steps_with_accumulation(tiny):
    """With gradient accumulation (2 batches per optimizer step) an entry applies once, at the first
    batch of its step; a scale change reaches the stream too."""
    module = _module(tiny)
    dm = _datamodule(module)
    cur = CurriculumCallback(
        [ScheduleEntry(1, {"rel_direction_easy": 1}), ScheduleEntry(2, None, {"size": "48x48"})], verbose=False
    )
    steps: list[tuple[int, int]] = []

    class Rec(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            steps.append((trainer.global_step, cur.applied))

    _trainer(3, [cur, Rec()], accumulate_grad_batches=2).fit(module, datamodule=dm)
    assert [(e["at_step"], e["step"], e["replay"]) for e in cur.events] == [(1, 1, False), (2, 2, False)]
    assert steps == [(0, 0), (0, 0), (1, 1), (1, 1), (2, 2), (2, 2)]
    assert all(e["first_id"] > 0 for e in cur.events) and cur.events[1]["first_id"] >= cur.events[0]["first_id"]


def test_ddp_two_cpu_ranks_get_disjoint_ids(tiny, tmp_path):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "simsv_stream.cli",
        "train",
        "--config",
        str(DEMO),
        "--model.path",
        str(tiny),
        "--output_dir",
        str(out),
        "--trainer.max_steps",
        "4",
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
        "--trainer.accelerator",
        "cpu",
        "--stream.workers",
        "1",
        "--eval.samples",
        "4",
        "schedule=[{at_step: 2, mix: rel_direction_easy}]",
        *TINY,
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "stream rank 0/2" in r.stdout and "stream rank 1/2" in r.stdout and "overall (VSI-Bench)" in r.stdout
    per_rank = {k: [s["id"] for s in _samples(out / "samples" / f"rank{k}.jsonl")] for k in (0, 1)}
    assert per_rank[0] == list(range(0, 16, 2)) and per_rank[1] == list(range(1, 16, 2))
    assert not set(per_rank[0]) & set(per_rank[1])
    import torch

    ck = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["StreamDataModule"]
    assert ck["world_size"] == 2 and set(ck["ranks"]) == {"0", "1"}


def _write_vsibench(tmp: Path) -> tuple[Path, Path]:
    import imageio.v2 as imageio

    rng = np.random.default_rng(0)
    videos = tmp / "videos"
    (videos / "arkitscenes").mkdir(parents=True)
    for rel in ("arkitscenes/41069025.mp4", "scene0011_00.mp4"):
        w = imageio.get_writer(str(videos / rel), fps=4, codec="libx264", macro_block_size=1)
        for _ in range(10):
            w.append_data(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
        w.close()
    rows = [
        {
            "id": 1,
            "dataset": "arkitscenes",
            "scene_name": "41069025",
            "question_type": "object_counting",
            "question": "How many chair(s) are in this room?",
            "options": None,
            "ground_truth": "4",
        },
        {
            "id": 2,
            "dataset": "arkitscenes",
            "scene_name": "41069025",
            "question_type": "object_rel_direction_easy",
            "question": "If I am standing by the sofa and facing the table, is the chair to my left or right?",
            "options": ["A. left", "B. right"],
            "ground_truth": "B",
        },
        {
            "id": 3,
            "dataset": "scannet",
            "scene_name": "scene0011_00",
            "question_type": "object_abs_distance",
            "question": "Measuring from the closest point of each object, what is the direct distance between the "
            "bed and the lamp (in meters)?",
            "options": None,
            "ground_truth": "1.7",
        },
    ]
    refs = tmp / "vsi.jsonl"
    refs.write_text("\n".join(json.dumps(r) for r in rows))
    return refs, videos


def test_eval_model_on_a_vsibench_file(tiny, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from simsv_stream.cli import main

    refs, videos = _write_vsibench(tmp_path)
    adapter = tmp_path / "final"
    _module(tiny).save_pretrained(str(adapter))  # what a training run leaves in OUTPUT_DIR/final
    parquet = tmp_path / "vsi.parquet"
    pq.write_table(pa.Table.from_pylist([json.loads(x) for x in refs.read_text().splitlines()]), parquet)
    preds = tmp_path / "p.jsonl"
    for model, ref in ((tiny, refs), (adapter, parquet)):
        assert (
            main(
                [
                    "eval",
                    "--model",
                    str(model),
                    "--references",
                    str(ref),
                    "--videos",
                    str(videos),
                    "--frames",
                    "4",
                    "--save-predictions",
                    str(preds),
                    "--json",
                    str(tmp_path / "s.json"),
                ]
            )
            == 0
        )
        out = capsys.readouterr().out
        for t in ("object_count", "rel_direction_easy", "abs_distance", "overall (VSI-Bench)"):
            assert t in out
        assert sorted(json.loads(x)["id"] for x in preds.read_text().splitlines()) == ["1", "2", "3"]
    # the predictions mode still works, on the predictions the model mode wrote
    assert main(["eval", "--predictions", str(preds), "--references", str(refs)]) == 0
    capsys.readouterr()
    (videos / "scene0011_00.mp4").unlink()
    assert main(["eval", "--model", str(tiny), "--references", str(refs), "--videos", str(videos)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no video for scene 'scene0011_00'" in err[0]
    assert main(["eval", "--references", str(refs)]) == 2
    assert "exactly one of --predictions" in capsys.readouterr().err


@pytest.mark.parametrize(
    "override, expect",
    [
        (["--model.family", "gpt2"], "error: model.family: unknown family 'gpt2'"),
        (
            ["schedule=[{at_step: 3, mix: 3q}, {at_step: 2, mix: 3q}]"],
            "error: schedule[1].at_step: steps must increase",
        ),
        (["--mix", "abs_distance=-1"], "error: mix"),
        (["schedule=[{at_step: 1, mix: {no_such_type: 1}}]"], "error: schedule[0].mix"),
        (["--eval.mix", "nope"], "error: eval.mix"),
    ],
)
def test_bad_input_is_one_line_before_anything_starts(tiny, tmp_path, capsys, override, expect):
    from simsv_stream.cli import main

    rc = main(["train", "--config", str(DEMO), "--model.path", str(tiny), "--output_dir", str(tmp_path), *override])
    cap = capsys.readouterr()
    err = cap.err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith(expect), cap.err
    assert "stream rank" not in cap.out and not (tmp_path / "checkpoints").exists()


def test_unknown_family_and_missing_model_dir_are_one_line(tmp_path, capsys):
    from simsv_stream.cli import main

    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert"}))
    for path, expect in (
        (bert, "unsupported model_type 'bert'"),
        (tmp_path / "missing", "error: model.path: model directory"),
    ):
        assert main(["train", "--config", str(DEMO), "--model.path", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expect in err[0], err
