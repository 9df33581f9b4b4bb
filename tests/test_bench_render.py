"""`simsv-stream bench render` and bench/render.py: a tiny run prints the table."""

from __future__ import annotations

import os
import subprocess
import sys

from simsv_stream.benchmarks.render import format_table, run_peer, run_render_bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_render_cli_prints_table():
    exe = os.path.join(os.path.dirname(sys.executable), "simsv-stream")
    p = subprocess.run(
        [exe, "bench", "render", "--sizes", "64x48", "--frames", "2,3", "--episodes", "1", "--peer-frames", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    rows = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("64x48")]
    assert len(rows) == 2
    assert "fps/core" in p.stdout and "time share" in p.stdout and "peer: naive numpy" in p.stdout


def test_bench_render_bad_value_one_line():
    exe = os.path.join(os.path.dirname(sys.executable), "simsv-stream")
    p = subprocess.run([exe, "bench", "render", "--frames", "0"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "frames" in p.stderr


def test_bench_script_and_api():
    p = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "render.py"),
            "--sizes",
            "48x48",
            "--frames",
            "2",
            "--episodes",
            "1",
            "--peer-frames",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    assert "48x48" in p.stdout
    rows = run_render_bench([(40, 32)], [2], episodes=2, seed=3)
    assert rows[0].total_frames == 4 and rows[0].fps_core > 0
    assert set(rows[0].stage_s) == {"house", "walkthrough", "build", "render", "annotate"}
    peer = run_peer((40, 32), 1, seed=3)
    assert peer.instance_agreement > 0.97
    assert "40x32" in format_table(rows, peer)
