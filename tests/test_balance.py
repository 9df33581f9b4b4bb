"""`simsv-stream bench balance`: recommendation logic on measured inputs, report/plot, and real quick runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from simsv_stream.benchmarks.balance import Baseline, Point, fleet_stage_ms, format_report, plot, recommend, run_balance
from simsv_stream.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo.yaml"


def _pt(
    workers: int,
    consumed: float,
    wait: float,
    capacity: float,
    step_ms: float = 100.0,
    batch: int = 4,
    render_ms: float = 0.0,
    knob: str = "",
) -> Point:
    wall = 10.0
    p = Point(
        label=f"workers={workers}",
        workers=workers,
        frames=8,
        size="64x64",
        questions_per_episode=1,
        codec="raw",
        batch_size=batch,
        steps=int(consumed * wall / batch),
        samples=int(consumed * wall),
        wall_s=wall,
        wait_s=wait * wall,
        step_s=step_ms / 1000.0,
        produced=int(consumed * wall),
        capacity_sps=capacity,
        knob=knob,
    )
    if render_ms:
        p.stage_ms = {"render": render_ms}
    return p


def test_recommends_smallest_worker_count_under_one_percent():
    pts = [_pt(1, 20, 0.40, 22), _pt(2, 38, 0.008, 44), _pt(4, 39, 0.002, 80)]
    rec = recommend(pts, 4, model_step_ms=100, cores=8)
    assert rec.workers == 2 and not rec.render_bound and rec.bottleneck == "trainer"
    assert rec.target_sps == pytest.approx(40.0)
    assert "2 worker(s)" in rec.text


def test_render_bound_projects_workers_on_other_hosts():
    # target 4 / 0.05 s = 80 samples/s; 5 samples/s per worker -> 16 workers; 2 cores -> 1 local, 15 remote
    pts = [_pt(1, 5, 0.9, 5.0, step_ms=50, render_ms=190), _pt(2, 9, 0.85, 9.5, step_ms=50, render_ms=200)]
    rec = recommend(pts, 4, model_step_ms=50, cores=2)
    assert rec.workers is None and rec.render_bound and rec.bottleneck == "render"
    assert rec.per_worker_sps == pytest.approx(5.0)
    assert rec.projected_workers == 16 and rec.local_workers == 1
    assert "start 15 on other hosts" in rec.text and "simsv-stream workers --connect" in rec.text


def test_pipeline_bound_when_the_fleet_could_keep_up_or_idles():
    # capacity above the target, still waiting: not the workers
    rec = recommend([_pt(1, 30, 0.2, 60, step_ms=100)], 4, cores=4)
    assert not rec.render_bound and rec.bottleneck == "pipeline/cpu"
    # capacity below the target but workers mostly idle (busy = 10/s x 20 ms / 1 = 20%)
    rec = recommend([_pt(1, 9, 0.5, 10, step_ms=50, render_ms=20)], 4, cores=4)
    assert not rec.render_bound and rec.bottleneck == "pipeline/cpu" and "busy only 20%" in rec.text
    # measured step time (model mode): the least-contended mean step sets the target
    rec = recommend([_pt(1, 10, 0.5, 10, step_ms=200), _pt(2, 10, 0.5, 12, step_ms=100)], 2, cores=4)
    assert rec.target_sps == pytest.approx(20.0)


def test_fleet_stage_split_amortizes_reuse_and_counts_retries():
    provs = [
        {
            "render_s": 0.2,
            "timings": {"house": 0.01, "walkthrough": 0.01, "render": 0.07, "annotate": 0.01},
        },  # 2 episodes
        {"render_s": 0.0, "timings": {"house": 0.01, "walkthrough": 0.01, "render": 0.07, "annotate": 0.01}},  # reused
    ]
    ms = fleet_stage_ms(provs)
    assert sum(ms.values()) == pytest.approx(100.0)  # 0.2 s over 2 samples
    assert ms["render"] == pytest.approx(70.0)


def test_report_and_plot_from_measured_points(tmp_path):
    pts = [
        _pt(1, 20, 0.4, 22, render_ms=40),
        _pt(2, 38, 0.008, 44, render_ms=41),
        _pt(2, 30, 0.1, 30, render_ms=80, knob="frames"),
    ]
    pts[0].stage_ms.update(questions=0.5, encode=1.0)
    rec = recommend(pts, 4, model_step_ms=100)
    b = Baseline(
        samples=40,
        export_workers=2,
        export_s=8.0,
        disk_bytes=123456,
        read_ttfb_s=0.5,
        read_s=2.0,
        loader_workers=2,
        stream_ttfb_s=0.4,
        stream_sps=44.0,
        stream_bytes_per_sample=98304,
    )
    md = format_report(pts, rec, {"config": "x.yaml"}, b)
    assert "## Workers (main table)" in md and "| workers | consumed/s |" in md
    assert "| 2 | 38.0 |" in md and "## Scale knobs" in md and "## Materialized baseline" in md
    assert "questions ms" in md and "encode ms" in md and "8.00 s (all of it)" in md
    plot(pts, rec, tmp_path / "balance.png")
    assert (tmp_path / "balance.png").stat().st_size > 10_000


def test_quick_run_with_calibrated_sleep_writes_report_plot_and_recommendation(tmp_path, capsys):
    out = tmp_path / "bal"
    rc = main(
        [
            "bench",
            "balance",
            "--config",
            str(DEMO),
            "--quick",
            "--model-step-ms",
            "25",
            "--steps",
            "3",
            "--sweep",
            "codec=raw,jpeg",
            "--baseline-samples",
            "6",
            "--capacity-s",
            "1",
            "--out",
            str(out),
            "stream.heartbeat_s=0.5",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "recommendation:" in printed and "| workers | consumed/s |" in printed
    report = (out / "report.md").read_text()
    for section in (
        "## Recommendation",
        "## Workers (main table)",
        "## Worker time per sample by stage",
        "## Scale knobs",
        "## Materialized baseline",
    ):
        assert section in report
    assert (out / "balance.png").stat().st_size > 10_000
    res = json.loads((out / "results.json").read_text())
    sweep = [p for p in res["points"] if not p["knob"]]
    assert [p["workers"] for p in sweep] == [1, 2]
    for p in res["points"]:
        assert p["steps"] >= 1 and p["consumed_sps"] > 0 and p["capacity_sps"] > 0
        assert p["bytes_per_sample"] > 0 and p["transport_ms"] is not None
        assert {"house", "walkthrough", "render", "annotate", "questions", "encode"} <= set(p["stage_ms"])
        # the step is the calibrated 25 ms sleep: never shorter; longer only by scheduling delays on a
        # loaded 2-core machine (an upper bound far below a whole loop iteration's)
        assert 0.024 <= p["step_s"] < 0.25 and 0.0 <= p["wait_frac"] <= 1.0
        assert p["trainer_rss_mb"] > 0 and p["workers_rss_mb"] > 0
    jpeg = next(p for p in res["points"] if p["knob"] == "codec" and p["codec"] == "jpeg")
    raw = next(p for p in res["points"] if p["knob"] == "codec" and p["codec"] == "raw")
    assert jpeg["bytes_per_sample"] < raw["bytes_per_sample"]
    b = res["baseline"]
    assert b["samples"] == 6 and b["disk_bytes"] > 0 and b["read_sps"] > 0
    assert (out / "materialized" / "annotations.jsonl").is_file()
    rec = res["recommendation"]
    assert rec["workers"] in (None, 1, 2) and math.isfinite(rec["target_sps"])


def test_quick_run_with_the_tiny_model_step(tmp_path_factory, tmp_path):
    from trainers.tiny_model import cached_tiny_model

    tiny = cached_tiny_model(tmp_path_factory.getbasetemp(), "qwen2_vl")
    logs: list[str] = []
    res = run_balance(
        DEMO,
        workers=[1],
        steps=2,
        warmup=1,
        quick=True,
        sweep={},
        baseline=False,
        capacity_s=0.5,
        out=tmp_path / "m",
        overrides=[f"model.path={tiny}", "data.batch_size=2", "data.map_workers=1", "stream.heartbeat_s=0.5"],
        log=logs.append,
    )
    (p,) = res["points"]
    assert p.steps == 2 and p.samples == 4 and p.step_s > 0
    assert res["recommendation"].target_sps == pytest.approx(2 / p.step_s)
    assert "model training step" in (tmp_path / "m" / "report.md").read_text()


def test_bad_arguments_fail_with_one_line(tmp_path, capsys):
    assert main(["bench", "balance", "--config", str(tmp_path / "nope.yaml"), "--model-step-ms", "5"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["bench", "balance", "--config", str(DEMO), "--workers", "0,1", "--model-step-ms", "5"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["bench", "balance", "--config", str(DEMO), "--sweep", "fps=1,2", "--model-step-ms", "5"]) == 2
    assert "--sweep" in capsys.readouterr().err


def test_model_step_loss_summary_flags_replayed_samples():
    """Every sweep point restarts the stream at id 0: the report must say the late losses are on samples
    already trained on (a GPU run read 'first 60.93, last 0.00' as learning)."""
    from simsv_stream.benchmarks.balance import ModelStep

    st = ModelStep.__new__(ModelStep)
    st.losses, st.batch_ids = [], []
    assert st.loss_summary() == "no steps"
    st.losses = [9.0, 8.0, 5.0, 0.5, 0.0]
    st.batch_ids = [(0, 1), (2, 3), (0, 1), (2, 3), (0, 1)]
    text = st.loss_summary()
    assert text.startswith("first 9.00, last 0.00 (5 steps")
    assert "4 distinct samples, each trained on up to 3 times" in text and "memorisation" in text
    assert "last loss on never-seen samples 8.00 (2 such steps)" in text
