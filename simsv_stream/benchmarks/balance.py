"""Render-vs-train balance: how many simulator workers one trainer needs, what it waits, what knobs cost.

For each worker count it runs the real stream (a dispatcher, its local fleet of worker processes, the
torchdata pipeline of ``build_loader``: ZmqSource -> ParallelMapper(decode, encode) -> Batcher ->
collate -> Prefetcher -> Loader) in front of a training step, and measures over a window of steps:

* **consumed** samples/s (trained) and **produced** samples/s (arrived at the dispatcher; throttled to
  consumption by the credit when the trainer is the bottleneck);
* **capacity** samples/s: the same fleet right after, with no training step (the loader drained as fast
  as the pipeline goes): what the workers can make on this host;
* **data-wait fraction**: time the loop blocked in the loader's ``next()`` / wall time of the window,
  the same definition as the trainer's ``StreamMetricsCallback`` (``StreamBatches.wait_s``);
* render time per sample by stage: house, walkthrough, render, annotate from the workers'
  ``Provenance.timings`` / ``render_s`` (amortized per sample: a reused episode costs 0, a retried
  episode counts); questions and encode are not in the provenance, so they are timed here, in this
  process, with the worker's own ``Producer`` and the wire's encoder on the same orders;
* transport: wire send -> validated, decoded sample over loopback TCP (a PUSH/PULL probe with the
  real ``wire`` messages of the same size and codec), and latency (order written -> sample received);
* bytes per sample on the wire (header + frame buffers), orders in flight (mean/max over the steps),
  trainer RSS and the workers' RSS.

The training step is the configured model's (``VideoVLMModule`` from the run config: forward,
backward, AdamW step; the tiny model on CPU, the real one on a GPU), or with ``--model-step-ms X`` a
calibrated sleep of X ms per batch, to size a fleet for a GPU that is not on this machine.

Then it sweeps the scale knobs that trade render cost (frames, size, questions per episode, codec; one
at a time around the config's scales) at one worker count, and runs the materialized baseline: the
same number of samples exported in SIMS-V's layout (``simsv_stream.export``) and read back through a
standard ``DataLoader`` decoding the mp4s (time to first batch, disk bytes, samples/s).

Writes ``DIR/report.md`` (tables), ``DIR/balance.png`` and ``DIR/results.json``, and prints the
recommendation: the smallest worker count with data-wait < 1%; when render-bound, the workers needed
for the target (``batch / step time``) at the measured per-worker rate, and how many of them must run on
other hosts (``simsv-stream workers --connect tcp://TRAINER:PORT -n N``).

Used by ``simsv-stream bench balance`` and ``bench/balance.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..commands import add_command, one_line_errors, script_main
from ..errors import ConfigError

STAGES = ("house", "walkthrough", "render", "annotate", "questions", "encode")
FLEET_STAGES = ("house", "walkthrough", "render", "annotate")
KNOBS = ("frames", "size", "questions_per_episode", "codec")
DEFAULT_WORKERS = (1, 2, 4)
DEFAULT_SWEEP = {
    "frames": ("8", "16", "32"),
    "size": ("224x224", "384x384"),
    "questions_per_episode": ("1", "5"),
    "codec": ("raw", "jpeg"),
}
DEFAULTS = dict(
    workers=DEFAULT_WORKERS,
    steps=20,
    warmup=3,
    sweep_steps=8,
    capacity_s=4.0,
    point_timeout=45.0,
    baseline_samples=None,
    sweep=DEFAULT_SWEEP,
    scales={},
)
QUICK = dict(
    workers=(1, 2),
    steps=4,
    warmup=1,
    sweep_steps=3,
    capacity_s=1.5,
    point_timeout=20.0,
    baseline_samples=8,
    sweep={
        "frames": ("8", "12"),
        "size": ("48x48", "64x64"),
        "questions_per_episode": ("1", "2"),
        "codec": ("raw", "jpeg"),
    },
    # 8 frames, not fewer: appearance_order (in the 3q mix) needs 4 categories first seen in 4
    # different frames, which 4-frame walkthroughs almost never give
    scales={"frames": 8, "size": "48x48", "rooms": "1-2"},
)
WAIT_THRESHOLD = 0.01


# ==============================================================================================
# measured data


@dataclass
class Point:
    """One measured configuration (a worker count, or one knob value of the sweep)."""

    label: str
    workers: int
    frames: int
    size: str
    questions_per_episode: int
    codec: str
    batch_size: int
    steps: int = 0  # measured training steps
    samples: int = 0  # trained samples in the window
    wall_s: float = 0.0  # window wall time
    wait_s: float = 0.0  # time blocked in next() during the window
    step_s: float = 0.0  # mean time of the training step itself (no wait)
    produced: int = 0  # samples arrived at the dispatcher during the window
    capacity_sps: Optional[float] = None  # fleet alone (no training step)
    capacity_worker_ms: Optional[float] = None  # worker ms per sample during the capacity window
    ttfb_s: float = 0.0  # dispatcher start (fleet spawn) -> first batch
    stage_ms: dict[str, float] = field(default_factory=dict)  # per sample, amortized
    transport_ms: Optional[float] = None
    latency_ms: Optional[float] = None  # order written -> sample received (mean)
    bytes_per_sample: float = 0.0
    in_flight_mean: float = 0.0
    in_flight_max: int = 0
    trainer_rss_mb: float = 0.0
    workers_rss_mb: float = 0.0
    knob: str = ""  # "" for the worker sweep, else the swept knob
    note: str = ""

    @property
    def consumed_sps(self) -> float:
        return self.samples / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def produced_sps(self) -> float:
        return self.produced / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def wait_frac(self) -> float:
        return min(1.0, self.wait_s / self.wall_s) if self.wall_s > 0 else 1.0

    @property
    def render_ms(self) -> float:
        """Worker time per sample: the fleet stages + questions + encode."""
        return sum(self.stage_ms.get(s, 0.0) for s in STAGES)

    @property
    def busy(self) -> Optional[float]:
        """Fraction of the time the workers were busy during the capacity window (capacity x worker
        time per sample / workers): near 1 = the workers are the limit, low = something downstream is."""
        ms = self.capacity_worker_ms or self.render_ms
        if not self.capacity_sps or not ms:
            return None
        return self.capacity_sps * ms / 1000.0 / self.workers

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            consumed_sps=self.consumed_sps,
            produced_sps=self.produced_sps,
            wait_frac=self.wait_frac,
            render_ms=self.render_ms,
            busy=self.busy,
        )
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Point":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Baseline:
    samples: int
    export_workers: int
    export_s: float
    disk_bytes: int
    read_ttfb_s: float  # DataLoader: iter() -> first batch
    read_s: float  # all samples read back (no training step)
    loader_workers: int
    stream_ttfb_s: float  # stream: dispatcher start -> first batch (same workers)
    stream_sps: Optional[float]  # stream capacity (no step) at the same workers
    stream_bytes_per_sample: float

    @property
    def export_sps(self) -> float:
        return self.samples / self.export_s if self.export_s > 0 else 0.0

    @property
    def read_sps(self) -> float:
        return self.samples / self.read_s if self.read_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(export_sps=self.export_sps, read_sps=self.read_sps)
        return d


@dataclass
class Recommendation:
    threshold: float
    workers: Optional[int]  # smallest measured worker count with data-wait < threshold
    target_sps: float  # samples/s the trainer would consume at zero wait
    per_worker_sps: float  # fleet capacity per worker (from the 1-worker run when measured)
    projected_workers: int  # ceil(target / per-worker rate)
    local_workers: int  # workers this host can run beside the trainer (cores - 1)
    render_bound: bool
    bottleneck: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ==============================================================================================
# pure logic: recommendation, tables, plot (tested on measured inputs)


def target_rate(
    points: Sequence[Point], batch_size: int, model_step_ms: Optional[float] = None, target_sps: Optional[float] = None
) -> tuple[float, float]:
    """(target samples/s, step seconds): batch / step time. The step time is ``model_step_ms`` when
    given, else the least-contended measured step (the smallest mean over the worker sweep)."""
    if model_step_ms is not None:
        step_s = model_step_ms / 1000.0
    else:
        steps = [p.step_s for p in points if p.step_s > 0 and not p.knob]
        step_s = min(steps) if steps else 0.0
    if target_sps is not None:
        return float(target_sps), step_s
    return (batch_size / step_s if step_s > 0 else math.inf), step_s


def recommend(
    points: Sequence[Point],
    batch_size: int,
    *,
    model_step_ms: Optional[float] = None,
    target_sps: Optional[float] = None,
    threshold: float = WAIT_THRESHOLD,
    cores: Optional[int] = None,
) -> Recommendation:
    """The smallest worker count whose data-wait fraction is under ``threshold``; when none is, whether
    the fleet is render-bound (its capacity is below the target) and how many workers the target needs
    at the measured per-worker rate, and how many of those must run on other hosts."""
    sweep = sorted((p for p in points if not p.knob), key=lambda p: p.workers)
    if not sweep:
        raise ValueError("no worker-sweep points to recommend from")
    cores = cores or os.cpu_count() or 1
    local = max(1, cores - 1)
    target, step_s = target_rate(sweep, batch_size, model_step_ms, target_sps)
    caps = {p.workers: p.capacity_sps for p in sweep if p.capacity_sps}
    if 1 in caps:
        per_worker = caps[1]
    elif caps:
        per_worker = max(c / w for w, c in caps.items())
    else:  # no capacity run: the best produced rate per worker while training
        per_worker = max((p.produced_sps / p.workers for p in sweep), default=0.0)
    projected = math.ceil(target / per_worker) if per_worker > 0 and math.isfinite(target) else 0
    best_cap = max(caps.values()) if caps else max(p.produced_sps for p in sweep)
    ok = [p for p in sweep if p.wait_frac < threshold]
    step_txt = f"{step_s * 1000:.0f} ms/step" if step_s > 0 else "step time unknown"
    tgt_txt = f"{target:.1f} samples/s (batch {batch_size} / {step_txt})" if math.isfinite(target) else "unbounded"
    if ok:
        p = ok[0]
        return Recommendation(
            threshold,
            p.workers,
            target,
            per_worker,
            projected,
            local,
            False,
            "trainer",
            f"{p.workers} worker(s): data-wait {100 * p.wait_frac:.2f}% < {100 * threshold:g}% at "
            f"{p.consumed_sps:.1f} samples/s consumed; the training step is the bottleneck "
            f"(target {tgt_txt}; per worker {per_worker:.2f} samples/s, so "
            f"{projected} worker(s) is the render-side minimum).",
        )
    worst = sweep[-1]
    cap_point = max(sweep, key=lambda p: p.capacity_sps or p.produced_sps)
    busy = cap_point.busy
    remote = max(0, projected - local)
    wait_txt = (
        f"no measured worker count keeps data-wait under {100 * threshold:g}% (at {worst.workers} worker(s): "
        f"{100 * worst.wait_frac:.1f}%, {worst.consumed_sps:.1f} samples/s consumed of a target of {tgt_txt})"
    )
    proj = (
        (
            f" Projected: {projected} worker(s) for the target at {per_worker:.2f} samples/s per worker "
            f"(= target / per-worker rate, one core each); this host runs about {local} beside the trainer, so start "
            f"{remote} on other hosts: `simsv-stream workers --connect tcp://TRAINER:PORT -n N` (bind the trainer's "
            f"stream.endpoint beyond loopback with stream.curve_keys)."
        )
        if projected
        else ""
    )
    pipeline_txt = (
        "the trainer-side pipeline (decode + encode in data.map_workers processes or threads, collate, "
        "the dispatcher thread) or CPU shared by the trainer and the workers on this host"
    )
    if best_cap >= target * 0.98:
        render_bound, bottleneck = False, "pipeline/cpu"
        text = (
            f"not render-bound, still waiting: {wait_txt}, although the fleet can make {best_cap:.1f} samples/s; "
            f"{pipeline_txt} is the bottleneck (try more data.map_workers, codec raw, or workers on other hosts "
            f"to free this host's cores)."
        )
    elif busy is None or busy >= 0.6:
        render_bound, bottleneck = True, "render"
        text = (
            f"render-bound: {wait_txt}; the fleet makes at most {best_cap:.1f} samples/s here "
            f"({cap_point.workers} worker(s){'' if busy is None else f', busy {100 * busy:.0f}% of the time'})." + proj
        )
    else:
        render_bound, bottleneck = False, "pipeline/cpu"
        text = (
            f"downstream-bound: {wait_txt}; the fleet makes at most {best_cap:.1f} samples/s but its workers are "
            f"busy only {100 * busy:.0f}% of the time at {cap_point.workers} worker(s), so {pipeline_txt} limits "
            f"the rate: more workers on this host will not help."
            + proj.replace(" Projected:", " Once that is fixed, projected:")
        )
    return Recommendation(threshold, None, target, per_worker, projected, local, render_bound, bottleneck, text)


def _f(v: Optional[float], fmt: str = "{:.1f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return fmt.format(v)


def _bytes(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def _md(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main_table(points: Sequence[Point]) -> str:
    rows = []
    for p in sorted((p for p in points if not p.knob), key=lambda p: p.workers):
        rows.append(
            [
                str(p.workers),
                _f(p.consumed_sps),
                _f(p.produced_sps),
                _f(p.capacity_sps),
                _f(100 * p.wait_frac, "{:.1f}%"),
                _f(1000 * p.step_s, "{:.0f}"),
                _f(None if p.busy is None else 100 * p.busy, "{:.0f}%"),
                f"{p.in_flight_mean:.1f} / {p.in_flight_max}",
                _f(p.latency_ms, "{:.0f}"),
                _f(p.trainer_rss_mb, "{:.0f}"),
                _f(p.workers_rss_mb, "{:.0f}"),
                str(p.steps),
            ]
        )
    return _md(
        [
            "workers",
            "consumed/s",
            "produced/s",
            "capacity/s",
            "data-wait",
            "step ms",
            "workers busy",
            "in flight mean/max",
            "latency ms",
            "trainer RSS MB",
            "workers RSS MB",
            "steps",
        ],
        rows,
    )


def stage_table(points: Sequence[Point]) -> str:
    rows = []
    for p in points:
        name = f"{p.workers} worker(s)" if not p.knob else f"{p.knob}={_knob_value(p)}"
        rows.append(
            [name]
            + [_f(p.stage_ms.get(s), "{:.1f}") for s in STAGES]
            + [_f(p.render_ms, "{:.1f}"), _f(p.transport_ms, "{:.2f}"), _bytes(p.bytes_per_sample)]
        )
    return _md(["run"] + [f"{s} ms" for s in STAGES] + ["total ms", "transport ms", "bytes/sample"], rows)


def _knob_value(p: Point) -> str:
    return {
        "frames": str(p.frames),
        "size": p.size,
        "questions_per_episode": str(p.questions_per_episode),
        "codec": p.codec,
    }.get(p.knob, p.label)


def sweep_table(points: Sequence[Point]) -> str:
    rows = []
    for p in points:
        if not p.knob:
            continue
        rows.append(
            [
                p.knob,
                _knob_value(p),
                f"{p.frames}x{p.size} q{p.questions_per_episode} {p.codec}",
                str(p.workers),
                _f(p.render_ms, "{:.1f}"),
                _bytes(p.bytes_per_sample),
                _f(p.capacity_sps),
                _f(p.consumed_sps),
                _f(100 * p.wait_frac, "{:.1f}%"),
                _f(1000 * p.step_s, "{:.0f}"),
            ]
        )
    return _md(
        [
            "knob",
            "value",
            "scales",
            "workers",
            "worker ms/sample",
            "bytes/sample",
            "capacity/s",
            "consumed/s",
            "data-wait",
            "step ms",
        ],
        rows,
    )


def baseline_table(b: Baseline) -> str:
    rows = [
        [
            "stream (fleet -> ZeroMQ -> torchdata)",
            f"{b.stream_ttfb_s:.2f} s",
            _f(b.stream_sps),
            "0 B",
            _bytes(b.stream_bytes_per_sample) + " on the wire",
        ],
        [
            f"materialize: export {b.samples} samples ({b.export_workers} processes)",
            f"{b.export_s:.2f} s (all of it)",
            _f(b.export_sps),
            _bytes(b.disk_bytes),
            _bytes(b.disk_bytes / max(1, b.samples)) + " on disk",
        ],
        [
            f"materialized: DataLoader({b.loader_workers} workers) decoding mp4",
            f"{b.export_s + b.read_ttfb_s:.2f} s (export + {b.read_ttfb_s:.2f} s)",
            _f(b.read_sps),
            _bytes(b.disk_bytes),
            "-",
        ],
    ]
    return _md(["path", "time to first batch", "samples/s (no train step)", "disk", "bytes/sample"], rows)


def format_report(
    points: Sequence[Point], rec: Recommendation, meta: dict[str, Any], baseline: Optional[Baseline] = None
) -> str:
    lines = ["# Render-vs-train balance", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += [
        "",
        "## Recommendation",
        "",
        rec.text,
        "",
        "## Workers (main table)",
        "",
        "consumed = trained samples/s; produced = samples/s arriving from the workers while training "
        "(the credit throttles it to consumption when the trainer is the bottleneck); capacity = the same "
        "fleet with no training step; data-wait = time blocked in the loader's next() / wall time; step ms = "
        "the training step alone; workers busy = capacity x worker ms per sample / workers (near 100%: the "
        "workers are the limit); latency = order written -> sample received.",
        "",
        main_table(points),
        "",
        "## Worker time per sample by stage",
        "",
        "house/walkthrough/render/annotate: from the workers' provenance (amortized per sample: an episode "
        "reused for several questions costs 0, a retried one counts); questions/encode: not in the provenance, "
        "timed in the bench process with the worker's Producer and the wire encoder on the same orders; "
        "transport: wire send -> validated, decoded sample over loopback (probe, same message size and codec).",
        "",
        stage_table(points),
        "",
    ]
    if any(p.knob for p in points):
        lines += ["## Scale knobs (one at a time around the config's scales)", "", sweep_table(points), ""]
    if baseline is not None:
        lines += ["## Materialized baseline (SIMS-V layout: mp4 + annotations.jsonl)", "", baseline_table(baseline), ""]
    lines += ["![balance](balance.png)", ""]
    return "\n".join(lines)


def plot(points: Sequence[Point], rec: Recommendation, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = sorted((p for p in points if not p.knob), key=lambda p: p.workers)
    knobs = [p for p in points if p.knob]
    ncols = 3 if knobs else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 4.2))
    ws = [p.workers for p in sweep]
    ax = axes[0]
    ax.plot(ws, [p.produced_sps for p in sweep], "o-", label="produced (while training)")
    if any(p.capacity_sps for p in sweep):
        ax.plot(ws, [p.capacity_sps or float("nan") for p in sweep], "s--", label="capacity (no train step)")
    ax.plot(ws, [p.consumed_sps for p in sweep], "^-", label="consumed (trained)")
    if math.isfinite(rec.target_sps):
        ax.axhline(rec.target_sps, color="grey", ls=":", label=f"target {rec.target_sps:.1f}/s")
    ax.set_xlabel("workers")
    ax.set_ylabel("samples/s")
    ax.set_xticks(ws)
    ax.set_ylim(bottom=0)
    ax.set_title("throughput vs workers")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[1]
    ax.plot(ws, [100 * p.wait_frac for p in sweep], "o-", color="C3")
    ax.axhline(100 * rec.threshold, color="grey", ls=":", label=f"{100 * rec.threshold:g}%")
    ax.set_xlabel("workers")
    ax.set_ylabel("data-wait (% of wall time)")
    ax.set_xticks(ws)
    ax.set_ylim(bottom=0)
    ax.set_title("trainer data-wait fraction")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if knobs:
        ax = axes[2]
        names = [f"{p.knob}={_knob_value(p)}" for p in knobs]
        bottom = [0.0] * len(knobs)
        for i, s in enumerate(STAGES):
            vals = [p.stage_ms.get(s, 0.0) for p in knobs]
            ax.barh(names, vals, left=bottom, label=s, color=f"C{i}")
            bottom = [a + b for a, b in zip(bottom, vals)]
        ax.set_xlabel("worker ms per sample")
        ax.set_title(f"scale knobs ({knobs[0].workers} worker(s))")
        ax.legend(fontsize=7)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)


# ==============================================================================================
# config


@dataclass
class BenchSetup:
    stream: Any  # StreamConfig (scales, mix, backend, credit, codec, seed)
    batch_size: int
    map_workers: int
    prefetch: int
    run_config: Any = None  # trainers RunConfig (model mode)
    config_path: str = ""
    map_method: str = "process"  # data.map_method: encoders in processes or in threads of this process


def load_setup(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    model: bool = True,
    batch_size: Optional[int] = None,
    scales: Optional[dict] = None,
) -> BenchSetup:
    """Read a run config (configs/*.yaml) with `section.key=value` overrides. With ``model`` the whole
    run config is validated (the model section is needed); without, only stream/scales/mix/data."""
    from trainers.config import DataConfig
    from trainers.run_config import apply_overrides, build_run_config, yaml_load

    from ..config import Scales
    from ..stream.config import StreamConfig

    p = Path(path)
    if not p.is_file():
        raise ConfigError("--config", f"no such file: {str(p)!r}")
    raw = yaml_load(p.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError("--config", f"{p}: expected a mapping of sections")
    raw = apply_overrides(dict(raw), overrides)
    if scales:
        raw["scales"] = {**dict(raw.get("scales") or {}), **scales}
    rc = None
    if model:
        rc = build_run_config(raw)
        sc, mix, stream, data = rc.scales, rc.mix, dict(rc.stream), rc.data
    else:
        try:
            sc = Scales().updated(dict(raw.get("scales") or {}))
        except ConfigError as e:
            raise ConfigError(f"scales.{e.field}", str(e).split(": ", 1)[-1]) from None
        mix, stream, data = raw.get("mix", "3q"), dict(raw.get("stream") or {}), DataConfig.from_any(raw.get("data"))
    if stream.get("backend") == "synthetic":
        raise ConfigError("stream.backend", "the balance bench measures the real stream; use procedural (or noise)")
    scfg = StreamConfig.from_dict(stream, scales=sc, mix=mix)
    b = int(batch_size or data.batch_size)
    if b < 1:
        raise ConfigError("--batch-size", f"must be >= 1, got {b}")
    return BenchSetup(scfg, b, int(data.map_workers), int(data.prefetch), rc, str(p), map_method=data.map_method)


# ==============================================================================================
# training steps


class SleepStep:
    """`--model-step-ms X`: the training step is a sleep of X ms per batch (samples only decoded)."""

    name = "sleep"

    def __init__(self, ms: float):
        if not ms > 0:
            raise ConfigError("--model-step-ms", f"must be > 0, got {ms}")
        self.ms = float(ms)

    encode = None

    @staticmethod
    def collate(samples: list) -> dict[str, Any]:
        return {
            "meta": [{"sample_id": s.sample_id, "question_type": s.qa.question_type} for s in samples],
            "samples": samples,
        }

    def step(self, batch: Any) -> None:
        time.sleep(self.ms / 1000.0)

    def describe(self) -> str:
        return f"calibrated sleep of {self.ms:g} ms per batch (--model-step-ms)"


class ModelStep:
    """The configured model's training step: forward, backward, AdamW + scheduler step (what
    `VideoVLMModule.training_step` + Lightning's optimizer step do), on CUDA when present."""

    name = "model"

    def __init__(self, rc: Any, total_steps: int):
        from dataclasses import replace

        import torch

        from trainers.module import VideoVLMModule

        optim = replace(rc.optim, total_steps=max(1, int(total_steps)))
        t0 = time.perf_counter()
        self.module = VideoVLMModule(rc.model, rc.lora, optim, rc.data)
        self.load_s = time.perf_counter() - t0
        acc = str(rc.trainer.get("accelerator", "auto"))
        use_cuda = torch.cuda.is_available() and acc in ("auto", "gpu", "cuda")
        self.device = torch.device("cuda" if use_cuda else "cpu")
        self.module.to(self.device)
        self.module.train()
        opt = self.module.configure_optimizers()
        self.optimizer = opt["optimizer"]
        self.scheduler = opt["lr_scheduler"]["scheduler"]
        self.encode = self.module.collator.encode
        self.collate = self.module.collator.collate
        self.path = rc.model.path
        self.losses: list[float] = []
        self.batch_ids: list[tuple[int, ...]] = []  # sample ids of each step's batch (replays show up here)

    def step(self, batch: Any) -> None:
        import torch

        batch = self.module.transfer_batch_to_device(batch, self.device, 0)
        loss = self.module.training_loss(batch)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.losses.append(float(loss.detach()))
        self.batch_ids.append(tuple(int(m["sample_id"]) for m in batch.get("meta", ())))

    def loss_summary(self) -> str:
        """First/last loss, and how often the same samples were trained on: every sweep point restarts the
        stream at sample id 0 (same seed, same samples, a fair comparison of fleets), so over a sweep the
        model re-trains on the same few dozen samples and a loss falling to ~0 is memorisation."""
        if not self.losses:
            return "no steps"
        seen: dict[int, int] = {}
        fresh = []  # losses of steps whose samples were all new
        for loss, ids in zip(self.losses, self.batch_ids):
            if ids and all(i not in seen for i in ids):
                fresh.append(loss)
            for i in ids:
                seen[i] = seen.get(i, 0) + 1
        text = f"first {self.losses[0]:.2f}, last {self.losses[-1]:.2f} ({len(self.losses)} steps"
        if seen:
            text += (
                f"; {len(seen)} distinct samples, each trained on up to {max(seen.values())} times: the sweep "
                f"replays the same stream ids at every point, so the late losses measure memorisation"
            )
            if fresh:
                text += f"; last loss on never-seen samples {fresh[-1]:.2f} ({len(fresh)} such steps)"
        return text + ")"

    def describe(self) -> str:
        return f"model training step of {self.path} on {self.device.type} (loaded in {self.load_s:.1f} s)"


# ==============================================================================================
# measurement


class _WireTap:
    """The loader's ``on_sample`` hook (in this process, whatever data.map_method): counts wire bytes,
    latency and provenance of each sample."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[tuple[float, int, float, dict]] = []  # (time, bytes, latency s, provenance)

    def __call__(self, ws: Any) -> None:
        from .. import wire

        nbytes = ws.nbytes + len(wire.pack_header(ws.header))
        lat = (ws.received_at - ws.ordered_at) if ws.ordered_at else float("nan")
        with self.lock:
            self.records.append((time.perf_counter(), nbytes, lat, ws.header.get("provenance") or {}))

    def since(self, t: float) -> list[tuple[float, int, float, dict]]:
        with self.lock:
            return [r for r in self.records if r[0] >= t]


def fleet_stage_ms(provs: Sequence[dict]) -> dict[str, float]:
    """Per-sample worker stage time (ms) from provenance: each fresh render's stage timings, scaled to
    its render_s (which also counts retried episodes), summed and divided by all samples (so reuse of
    one episode by several questions is amortized)."""
    if not provs:
        return {}
    tot = {s: 0.0 for s in FLEET_STAGES}
    for pv in provs:
        r = float(pv.get("render_s") or 0.0)
        t = {k: float(v) for k, v in (pv.get("timings") or {}).items()}
        s = sum(t.get(k, 0.0) for k in FLEET_STAGES)
        if r <= 0 or s <= 0:
            continue
        k = r / s
        for st in FLEET_STAGES:
            tot[st] += t.get(st, 0.0) * k
    return {s: 1000.0 * v / len(provs) for s, v in tot.items()}


def profile_worker_side(
    stream_cfg: Any, scales: Any, codec: str, samples: int = 3, transport_reps: int = 5
) -> dict[str, float]:
    """Questions and encode ms per sample (not in the provenance) and a loopback transport probe, with
    the worker's own Producer on the first orders of the run (the same orders the stream fills)."""
    import numpy as np
    import zmq

    from .. import wire
    from ..export import plan_orders
    from ..stream.backends import Backend, get_backend
    from ..stream.worker import Producer, Unaskable

    be = get_backend(stream_cfg.backend, stream_cfg.backend_options)
    q_time = [0.0]

    def gen(ep: Any, qtype: str, rng: np.random.Generator) -> Any:
        t0 = time.perf_counter()
        try:
            return be.generate(ep, qtype, rng)
        finally:
            q_time[0] += time.perf_counter() - t0

    prod = Producer(Backend(be.name, be.simulate, gen))
    chash = scales.config_hash()
    enc_s, n, last = 0.0, 0, None
    for g in plan_orders(samples, stream_cfg.seed, stream_cfg.mix, scales):
        for sid, qtype in g.items:
            try:
                frames, qa, prov = prod.produce(stream_cfg.seed, sid, qtype, g.episode_seed, scales, 0, chash)
            except Unaskable:
                continue
            t0 = time.perf_counter()
            parts = wire.encode_sample(
                epoch=0,
                sample_id=sid,
                frames=frames,
                qa=qa,
                provenance=prov,
                codec=codec,
                quality=stream_cfg.jpeg_quality,
            )
            enc_s += time.perf_counter() - t0
            n += 1
            last = parts
    out = {"questions": 1000.0 * q_time[0] / max(1, n), "encode": 1000.0 * enc_s / max(1, n)}
    if last is not None:
        ctx = zmq.Context()
        pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
        try:
            port = pull.bind_to_random_port("tcp://127.0.0.1")
            push.connect(f"tcp://127.0.0.1:{port}")
            wire.send(push, last)
            wire.decode_frames(wire.decode(pull.recv_multipart(copy=False)))  # connect + warm up
            t0 = time.perf_counter()
            for _ in range(transport_reps):
                wire.send(push, last)
                wire.decode_frames(wire.decode(pull.recv_multipart(copy=False)))
            out["transport"] = 1000.0 * (time.perf_counter() - t0) / transport_reps
        finally:
            push.close(0)
            pull.close(0)
            ctx.term()
    return out


@contextlib.contextmanager
def worker_stderr(path: Optional[Path]):
    """Send what worker processes write to stderr (their WARNING log lines: unaskable retries...) to
    ``path`` instead of the terminal: fd 2 points at the file while the fleet is spawned, so the
    children inherit it. (The fleet's log level cannot be set from StreamConfig.)"""
    if path is None:
        yield
        return
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def _rss_mb(pids: Sequence[int]) -> float:
    import psutil

    tot = 0
    for pid in pids:
        try:
            tot += psutil.Process(pid).memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return tot / 1e6


def measure(
    setup: BenchSetup,
    stepper: Any,
    *,
    workers: int,
    scales: Any,
    codec: str,
    steps: int,
    warmup: int,
    capacity_s: float,
    timeout_s: float,
    label: str,
    knob: str = "",
    profile: Optional[dict[str, float]] = None,
    log: Callable[[str], None] = print,
    worker_log: Optional[Path] = None,
) -> Point:
    """Run one configuration: fresh dispatcher + fleet, warm-up steps, a measured window of ``steps``
    training steps (cut at ``timeout_s``), then ``capacity_s`` seconds with no training step."""
    from ..stream import Dispatcher, build_loader

    cfg = setup.stream.updated(
        workers=workers,
        scales=scales,
        codec=codec,
        endpoint="tcp://127.0.0.1:*",
        control_endpoint="off",
        rank=0,
        world_size=1,
    )
    p = Point(
        label=label,
        workers=workers,
        frames=scales.frames,
        size=f"{scales.width}x{scales.height}",
        questions_per_episode=scales.questions_per_episode,
        codec=codec,
        batch_size=setup.batch_size,
        knob=knob,
    )
    tap = _WireTap()
    t_start = time.perf_counter()
    with worker_stderr(worker_log):
        d = Dispatcher(cfg, log_changes=False).start()
    loader = None
    try:
        loader = build_loader(
            cfg,
            dispatcher=d,
            map_fn=stepper.encode,
            collate_fn=stepper.collate,
            batch_size=setup.batch_size,
            map_workers=setup.map_workers,
            prefetch=setup.prefetch,
            map_method=setup.map_method,
            on_sample=tap,
        )
        it = iter(loader)
        batch = next(it)
        p.ttfb_s = time.perf_counter() - t_start
        stepper.step(batch)
        for _ in range(max(0, warmup - 1)):
            stepper.step(next(it))
        st0 = d.status()
        t_win = time.perf_counter()
        flights: list[int] = []
        for _ in range(steps):
            t0 = time.perf_counter()
            batch = next(it)
            t1 = time.perf_counter()
            stepper.step(batch)
            t2 = time.perf_counter()
            p.wait_s += t1 - t0
            p.step_s += t2 - t1
            p.steps += 1
            flights.append(int(d.status()["in_flight"]))
            if t2 - t_win > timeout_s:
                p.note = f"window cut at {timeout_s:g} s"
                break
        t_end = time.perf_counter()
        st1 = d.status()
        p.wall_s = t_end - t_win
        p.samples = p.steps * setup.batch_size
        p.produced = int(st1["produced"]) - int(st0["produced"])
        p.step_s = p.step_s / max(1, p.steps)
        p.in_flight_mean = sum(flights) / max(1, len(flights))
        p.in_flight_max = max(flights, default=0)
        p.trainer_rss_mb = _rss_mb([os.getpid()])
        fleet = getattr(d, "fleet", None)
        p.workers_rss_mb = _rss_mb(list(fleet.pids().values())) if fleet is not None else 0.0
        recs = tap.since(t_win)
        if capacity_s > 0:
            c0, tc0 = int(d.status()["produced"]), time.perf_counter()
            while time.perf_counter() - tc0 < capacity_s:
                next(it)
            c1, tc1 = int(d.status()["produced"]), time.perf_counter()
            p.capacity_sps = (c1 - c0) / (tc1 - tc0)
            cap = fleet_stage_ms([r[3] for r in tap.since(tc0)])
            if cap:
                extra = sum(v for k, v in (profile or {}).items() if k in ("questions", "encode"))
                p.capacity_worker_ms = sum(cap.values()) + extra
            recs = tap.since(t_win)  # more provenance for the stage split
    finally:
        d.close()
        if loader is not None:
            loader.close()  # its encoder processes, now rather than when the loader is collected
    if recs:
        p.bytes_per_sample = sum(r[1] for r in recs) / len(recs)
        lats = [r[2] for r in recs if r[2] == r[2]]
        p.latency_ms = 1000.0 * sum(lats) / len(lats) if lats else None
        p.stage_ms = fleet_stage_ms([r[3] for r in recs])
    if profile:
        p.stage_ms.update({k: v for k, v in profile.items() if k in ("questions", "encode")})
        p.transport_ms = profile.get("transport")
    log(
        f"  {label}: consumed {p.consumed_sps:.1f}/s, produced {p.produced_sps:.1f}/s, capacity "
        f"{_f(p.capacity_sps)}/s, data-wait {100 * p.wait_frac:.1f}%, step {1000 * p.step_s:.0f} ms, "
        f"worker {p.render_ms:.0f} ms/sample, {_bytes(p.bytes_per_sample)}/sample"
        f"{' (' + p.note + ')' if p.note else ''}"
    )
    return p


def run_baseline(
    setup: BenchSetup,
    stepper: Any,
    out: Path,
    samples: int,
    workers: int,
    stream_point: Optional[Point],
    log: Callable[[str], None] = print,
) -> Baseline:
    """Export ``samples`` samples with ``workers`` processes, read them back through a DataLoader
    (``workers`` loader workers, the stepper's encode/collate, no training step)."""
    import torch

    from ..export import MaterializedDataset, disk_bytes, export

    root = out / "materialized"
    res = export(root, samples, setup.stream, workers=workers, overwrite=True)
    ds = MaterializedDataset(root, transform=stepper.encode)
    with warnings.catch_warnings():  # "more workers than cores": the stream runs the same count
        warnings.filterwarnings("ignore", message=r"This DataLoader will create")
        dl = torch.utils.data.DataLoader(
            ds, batch_size=setup.batch_size, num_workers=workers, collate_fn=stepper.collate, shuffle=False
        )
        t0 = time.perf_counter()
        it = iter(dl)
        next(it)
        ttfb = time.perf_counter() - t0
        for _ in it:
            pass
        read_s = time.perf_counter() - t0
    b = Baseline(
        samples=res.samples,
        export_workers=workers,
        export_s=res.seconds,
        disk_bytes=disk_bytes(root),
        read_ttfb_s=ttfb,
        read_s=read_s,
        loader_workers=workers,
        stream_ttfb_s=stream_point.ttfb_s if stream_point else float("nan"),
        stream_sps=stream_point.capacity_sps if stream_point else None,
        stream_bytes_per_sample=stream_point.bytes_per_sample if stream_point else 0.0,
    )
    log(
        f"  materialized: export {b.samples} samples in {b.export_s:.1f} s ({b.export_sps:.1f}/s), "
        f"{_bytes(b.disk_bytes)} on disk; DataLoader first batch {ttfb:.2f} s, {b.read_sps:.1f} samples/s"
    )
    return b


# ==============================================================================================
# the whole run


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def parse_workers(text: str) -> tuple[int, ...]:
    try:
        ws = tuple(sorted({int(x) for x in str(text).split(",") if x.strip()}))
    except ValueError:
        raise ConfigError(
            "--workers", f"expected a comma-separated list of integers such as 1,2,4, got {text!r}"
        ) from None
    if not ws or ws[0] < 1:
        raise ConfigError("--workers", f"worker counts must be >= 1, got {text!r}")
    return ws


def parse_sweep(items: Sequence[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for it in items:
        k, sep, v = it.partition("=")
        k = k.strip().replace("-", "_")
        if k == "qpe":
            k = "questions_per_episode"
        if not sep or k not in KNOBS:
            raise ConfigError("--sweep", f"expected KNOB=V1,V2 with KNOB in {', '.join(KNOBS)}, got {it!r}")
        out[k] = tuple(x.strip() for x in v.split(",") if x.strip())
    return out


def run_balance(
    config: str | Path,
    *,
    workers: Optional[Sequence[int]] = None,
    steps: Optional[int] = None,
    warmup: Optional[int] = None,
    out: str | Path = "runs/bench-balance",
    model_step_ms: Optional[float] = None,
    quick: bool = False,
    sweep: Optional[dict] = None,
    sweep_workers: Optional[int] = None,
    sweep_steps: Optional[int] = None,
    baseline_samples: Optional[int] = None,
    baseline: bool = True,
    capacity_s: Optional[float] = None,
    point_timeout: Optional[float] = None,
    target_sps: Optional[float] = None,
    threshold: float = WAIT_THRESHOLD,
    batch_size: Optional[int] = None,
    overrides: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    from ..config import Scales

    preset = QUICK if quick else DEFAULTS
    workers = tuple(workers or preset["workers"])
    steps = int(steps if steps is not None else preset["steps"])
    warmup = int(warmup if warmup is not None else preset["warmup"])
    sweep_steps = int(sweep_steps if sweep_steps is not None else min(steps, preset["sweep_steps"]))
    capacity_s = float(capacity_s if capacity_s is not None else preset["capacity_s"])
    point_timeout = float(point_timeout if point_timeout is not None else preset["point_timeout"])
    sweep = preset["sweep"] if sweep is None else sweep
    for name, v, lo in (("--steps", steps, 1), ("--warmup", warmup, 1)):
        if v < lo:
            raise ConfigError(name, f"must be >= {lo}, got {v}")
    setup = load_setup(
        config, overrides, model=model_step_ms is None, batch_size=batch_size, scales=dict(preset["scales"]) or None
    )
    base = setup.stream.scales
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_points = len(workers) + sum(len(v) for v in sweep.values())
    if model_step_ms is not None:
        stepper: Any = SleepStep(model_step_ms)
    else:
        stepper = ModelStep(setup.run_config, total_steps=n_points * (steps + warmup + 50))
    log(
        f"balance bench: {setup.config_path}, {stepper.describe()}, batch {setup.batch_size}, base scales "
        f"{base.frames}x{base.width}x{base.height} q{base.questions_per_episode}, codec {setup.stream.codec}, "
        f"workers {list(workers)}, {steps} steps per point"
    )
    t_run = time.perf_counter()
    profiles: dict[tuple, dict[str, float]] = {}

    def prof(sc: Scales, codec: str) -> dict[str, float]:
        key = (sc.config_hash(), codec)
        if key not in profiles:
            profiles[key] = profile_worker_side(setup.stream, sc, codec)
        return profiles[key]

    wlog = out / "workers.log"
    wlog.unlink(missing_ok=True)
    points: list[Point] = []
    for w in workers:
        points.append(
            measure(
                setup,
                stepper,
                workers=w,
                scales=base,
                codec=setup.stream.codec,
                steps=steps,
                warmup=warmup,
                capacity_s=capacity_s,
                timeout_s=point_timeout,
                label=f"workers={w}",
                profile=prof(base, setup.stream.codec),
                log=log,
                worker_log=wlog,
            )
        )
    rec = recommend(points, setup.batch_size, model_step_ms=model_step_ms, target_sps=target_sps, threshold=threshold)
    sw = int(sweep_workers or rec.workers or max(workers))
    for knob, values in sweep.items():
        for v in values:
            codec = setup.stream.codec
            sc = base
            if knob == "codec":
                if v not in ("raw", "jpeg"):
                    raise ConfigError("--sweep", f"codec must be raw or jpeg, got {v!r}")
                codec = v
            else:
                sc = base.updated({knob: v})
            log(f"sweep {knob}={v} ({sw} worker(s))")
            points.append(
                measure(
                    setup,
                    stepper,
                    workers=sw,
                    scales=sc,
                    codec=codec,
                    steps=sweep_steps,
                    warmup=1,
                    capacity_s=capacity_s,
                    timeout_s=point_timeout,
                    label=f"{knob}={v}",
                    knob=knob,
                    profile=prof(sc, codec),
                    log=log,
                    worker_log=wlog,
                )
            )
    base_res = None
    if baseline:
        n = int(baseline_samples or preset["baseline_samples"] or steps * setup.batch_size)
        ref = next((p for p in points if not p.knob and p.workers == sw), None)
        log(f"materialized baseline: {n} samples, {sw} worker(s)")
        base_res = run_baseline(setup, stepper, out, n, sw, ref, log=log)
    meta = {
        "config": setup.config_path,
        "training step": stepper.describe(),
        "batch size": setup.batch_size,
        "base scales": f"{base.frames} frames, {base.width}x{base.height}, rooms {base.rooms_min}-{base.rooms_max}, "
        f"{base.questions_per_episode} question(s)/episode; codec {setup.stream.codec}; "
        f"credit {setup.stream.credit}; backend {setup.stream.backend}",
        "mix": setup.stream.mix if isinstance(setup.stream.mix, str) else json.dumps(setup.stream.mix),
        "host": f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}",
        "steps per point": f"{steps} measured after {warmup} warm-up (sweep: {sweep_steps}); capacity window "
        f"{capacity_s:g} s",
        "wall time": f"{time.perf_counter() - t_run:.0f} s",
        "worker log": f"{wlog.name} ({_count_lines(wlog)} line(s): the workers' warnings, e.g. question types not "
        f"askable on an episode, retried on the next)",
    }
    report = format_report(points, rec, meta, base_res)
    (out / "report.md").write_text(report)
    plot(points, rec, out / "balance.png")
    results = {
        "meta": meta,
        "recommendation": rec.to_dict(),
        "points": [p.to_dict() for p in points],
        "baseline": base_res.to_dict() if base_res else None,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    log("")
    log(main_table(points))
    log("")
    log(f"recommendation: {rec.text}")
    log(f"report: {out / 'report.md'}, plot: {out / 'balance.png'}")
    return {
        "points": points,
        "recommendation": rec,
        "baseline": base_res,
        "report": out / "report.md",
        "plot": out / "balance.png",
    }


# ==============================================================================================
# CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, metavar="FILE", help="run config (configs/*.yaml)")
    p.add_argument("--workers", default=None, help="worker counts, e.g. 1,2,4 (default 1,2,4; --quick: 1,2)")
    p.add_argument("--steps", type=int, default=None, help="measured training steps per worker count (default 20)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps before measuring (default 3)")
    p.add_argument("--out", default="runs/bench-balance", metavar="DIR", help="report folder (default %(default)s)")
    p.add_argument(
        "--model-step-ms",
        type=float,
        default=None,
        metavar="X",
        help="replace the model with a sleep of X ms per batch (size a fleet for a GPU you do not have)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="override data.batch_size")
    p.add_argument(
        "--quick",
        action="store_true",
        help="CI-sized: workers 1,2; 4 steps; 8 frames 48x48, 1-2 rooms; small sweep; 8 baseline samples",
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=None,
        metavar="KNOB=V1,V2",
        help="knob values to sweep (frames, size, questions_per_episode, codec; repeatable; default "
        "frames=8,16,32 size=224x224,384x384 questions_per_episode=1,5 codec=raw,jpeg)",
    )
    p.add_argument("--no-sweep", action="store_true", help="skip the scale-knob sweep")
    p.add_argument(
        "--sweep-workers", type=int, default=None, help="workers for the sweep (default: recommended, else max)"
    )
    p.add_argument("--sweep-steps", type=int, default=None, help="measured steps per sweep point (default 8)")
    p.add_argument(
        "--baseline-samples",
        type=int,
        default=None,
        help="samples exported for the materialized baseline (default steps x batch)",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the materialized baseline")
    p.add_argument("--capacity-s", type=float, default=None, help="seconds of the no-step capacity window (default 4)")
    p.add_argument(
        "--point-timeout", type=float, default=None, help="cut a measuring window after S seconds (default 45)"
    )
    p.add_argument("--target-sps", type=float, default=None, help="target samples/s (default batch / step time)")
    p.add_argument("--threshold", type=float, default=WAIT_THRESHOLD, help="data-wait fraction to reach (default 0.01)")
    p.add_argument(
        "overrides", nargs="*", metavar="section.key=value", help="run-config overrides, e.g. stream.credit=4"
    )


def run(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.ERROR)
    sweep = {} if args.no_sweep else (parse_sweep(args.sweep) if args.sweep else None)
    run_balance(
        args.config,
        workers=parse_workers(args.workers) if args.workers else None,
        steps=args.steps,
        warmup=args.warmup,
        out=args.out,
        model_step_ms=args.model_step_ms,
        quick=args.quick,
        sweep=sweep,
        sweep_workers=args.sweep_workers,
        sweep_steps=args.sweep_steps,
        baseline_samples=args.baseline_samples,
        baseline=not args.no_baseline,
        capacity_s=args.capacity_s,
        point_timeout=args.point_timeout,
        target_sps=args.target_sps,
        threshold=args.threshold,
        batch_size=args.batch_size,
        overrides=args.overrides,
    )
    return 0


def register_bench(bsub) -> None:
    p = add_command(
        bsub,
        "balance",
        "render-vs-train balance: workers needed, data-wait, knob costs, vs materialized",
        __doc__,
        add_arguments,
        run,
    )
    one_line_errors(p)


def main(argv: Sequence[str] | None = None) -> int:
    return script_main(argv, __doc__, add_arguments, run, prog="bench/balance.py")
