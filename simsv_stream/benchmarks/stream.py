"""Stream benchmark: the stream vs the obvious alternative, and mix-switch staleness vs credit.

1. **Throughput vs workers.** The same simulator and question generators (the worker's
   :class:`~simsv_stream.stream.worker.Producer`, same seeds, same retry rule) run
   * in the stream: W worker processes -> ZeroMQ -> dispatcher -> ``build_loader`` (decode, then a
     map to a torch tensor, batch 1), and
   * in a ``torch.utils.data.IterableDataset`` under a ``DataLoader`` with ``num_workers=W``
     (worker w makes ids w, w+W, ...; tensors travel through shared memory), batch 1.
   Samples/s are counted after a warm-up of 2 samples per worker. A PNG plots both against W.
2. **Mix-switch staleness vs credit.** W noise workers (``delay_s`` emulates a render) stream; the
   consumer switches the mix to one type; "stale" counts samples it receives after the switch whose
   order was written before it (old mix). The dispatcher bounds this by ``credit x W``; behind a
   ``build_loader`` the torchdata stages (ParallelMapper, Prefetcher) hold a few more, already
   fetched, samples.

Used by `simsv-stream bench stream` and `bench/stream.py`.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..commands import add_command, script_main


@dataclass
class Point:
    workers: int
    path: str
    samples: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.samples / self.seconds if self.seconds else 0.0


# ----------------------------------------------------------------------------------------------
# the obvious alternative: the simulator inside an IterableDataset


class SimulatorIterable:
    """IterableDataset body (built lazily so this module imports without torch)."""

    def __init__(self, backend: str, backend_options: dict, seed: int, mix: Any, scales_dict: dict):
        self.backend, self.backend_options = backend, backend_options
        self.seed, self.mix, self.scales_dict = seed, mix, scales_dict

    def __iter__(self):
        import torch

        from ..config import Scales
        from ..stream.backends import get_backend
        from ..stream.orders import choose_type, episode_seed, load_mix
        from ..stream.worker import Producer

        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        producer = Producer(get_backend(self.backend, self.backend_options))
        mix = load_mix(self.mix)
        scales = Scales.from_dict(self.scales_dict)
        sid = wid
        while True:
            qtype = choose_type(mix, self.seed, sid)
            frames, qa, _ = producer.produce(self.seed, sid, qtype, episode_seed(self.seed, sid), scales)
            yield {"sample_id": sid, "frames": torch.from_numpy(np.ascontiguousarray(frames)), "qa": qa.to_dict()}
            sid += nw


def _time_samples(it, warm: int, n: int, frames: int) -> float:
    """Seconds to take n samples from `it` after `warm` untimed ones (each checked for `frames` frames)."""
    for _ in range(warm):
        next(it)
    t0 = time.perf_counter()
    for _ in range(n):
        s = next(it)
        assert s["frames"].shape[0] == frames
    return time.perf_counter() - t0


def run_dataloader(workers: int, n: int, backend: str, backend_options: dict, scales, mix: Any, seed: int = 0) -> Point:
    import torch

    class _DS(SimulatorIterable, torch.utils.data.IterableDataset):
        pass

    ds = _DS(backend, backend_options, seed, mix, scales.to_dict())
    dl = torch.utils.data.DataLoader(
        ds, batch_size=None, num_workers=workers, prefetch_factor=2, multiprocessing_context="fork"
    )
    it = iter(dl)
    dt = _time_samples(it, 2 * workers, n, scales.frames)
    del it
    return Point(workers, "DataLoader", n, dt)


def run_stream(
    workers: int,
    n: int,
    backend: str,
    backend_options: dict,
    scales,
    mix: Any,
    seed: int = 0,
    credit: int = 2,
    codec: str = "raw",
) -> Point:
    import torch

    from ..stream import StreamConfig, build_loader

    cfg = StreamConfig(
        endpoint="tcp://127.0.0.1:*",
        control_endpoint="off",
        workers=workers,
        backend=backend,
        backend_options=backend_options,
        credit=credit,
        codec=codec,
        seed=seed,
        timeout_s=120,
        scales=scales,
        mix=mix,
    )
    loader = build_loader(
        cfg,
        batch_size=1,
        map_workers=2,
        prefetch=2,
        map_fn=lambda s: {"sample_id": s.sample_id, "frames": torch.from_numpy(s.frames), "qa": s.qa},
        collate_fn=lambda b: b[0],
    )
    try:
        it = iter(loader)
        dt = _time_samples(it, 2 * workers, n, scales.frames)
    finally:
        loader.close()
    return Point(workers, "stream", n, dt)


def run_throughput(
    worker_counts: Sequence[int],
    per_worker: int,
    backend: str,
    backend_options: dict,
    scales,
    mix: Any,
    repeats: int = 1,
    credit: int = 2,
) -> list[tuple[Point, Point]]:
    rows = []
    for w in worker_counts:
        n = per_worker * w
        best_s = best_d = None
        for _ in range(repeats):
            s = run_stream(w, n, backend, backend_options, scales, mix, credit=credit)
            d = run_dataloader(w, n, backend, backend_options, scales, mix)
            best_s = s if best_s is None or s.rate > best_s.rate else best_s
            best_d = d if best_d is None or d.rate > best_d.rate else best_d
        rows.append((best_s, best_d))
    return rows


# ----------------------------------------------------------------------------------------------
@dataclass
class Staleness:
    credit: int
    workers: int
    level: str
    stale: int
    bound: int
    rate: float


def run_staleness(
    credits: Sequence[int], workers: int = 2, delay_s: float = 0.01, before: int = 60, after: int = 60
) -> list[Staleness]:
    from ..config import Scales
    from ..stream import Dispatcher, StreamConfig, build_loader

    out = []
    for credit in credits:
        cfg = StreamConfig(
            endpoint="tcp://127.0.0.1:*",
            control_endpoint="off",
            workers=workers,
            backend="noise",
            backend_options={"delay_s": delay_s},
            credit=credit,
            timeout_s=60,
            scales=Scales(frames=4, width=32, height=32),
            mix="3q",
        )
        # dispatcher level
        with Dispatcher(cfg) as d:
            for _ in range(before):
                d.get()
            t0 = time.perf_counter()
            ch = d.set_mix("appearance_order")
            stale = 0
            taken = 0
            while True:
                ws = d.get()
                taken += 1
                if ws.sample_id < ch["first_id"]:
                    stale += 1
                    assert ws.question_type in (
                        "abs_distance",
                        "appearance_order",
                        "rel_direction_easy",
                        "rel_direction_medium",
                        "rel_direction_hard",
                    )
                elif ws.sample_id >= ch["first_id"] + after:
                    break
                else:
                    assert ws.question_type == "appearance_order"
            out.append(
                Staleness(credit, workers, "dispatcher", stale, credit * workers, taken / (time.perf_counter() - t0))
            )
        # behind build_loader (what a trainer iterating the Loader sees)
        loader = build_loader(cfg, batch_size=1, map_workers=2, prefetch=2, collate_fn=lambda b: b[0])
        try:
            it = iter(loader)
            for _ in range(before):
                next(it)
            t0 = time.perf_counter()
            ch = loader.dispatcher.set_mix("appearance_order")
            stale = taken = 0
            while True:
                s = next(it)
                taken += 1
                if s.sample_id < ch["first_id"]:
                    stale += 1
                elif s.sample_id >= ch["first_id"] + after:
                    break
            out.append(
                Staleness(credit, workers, "loader", stale, credit * workers, taken / (time.perf_counter() - t0))
            )
        finally:
            loader.close()
    return out


# ----------------------------------------------------------------------------------------------
def format_throughput(rows: Sequence[tuple[Point, Point]], label: str) -> str:
    out = [f"throughput ({label})", f"{'workers':>7} {'stream/s':>9} {'DataLoader/s':>12} {'ratio':>6}", "-" * 38]
    for s, d in rows:
        out.append(f"{s.workers:>7} {s.rate:9.2f} {d.rate:12.2f} {s.rate / d.rate:5.2f}x")
    return "\n".join(out)


def format_staleness(rows: Sequence[Staleness]) -> str:
    out = [
        "mix-switch staleness (samples of the old mix received after the switch)",
        f"{'credit':>6} {'workers':>7} {'bound credit*W':>14} {'dispatcher':>10} {'loader':>7}",
        "-" * 50,
    ]
    by = {}
    for r in rows:
        by.setdefault((r.credit, r.workers), {})[r.level] = r
    for (c, w), d in by.items():
        out.append(f"{c:>6} {w:>7} {c * w:>14} {d['dispatcher'].stale:>10} {d['loader'].stale:>7}")
    return "\n".join(out)


def plot(rows: Sequence[tuple[Point, Point]], path: str, label: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ws = [s.workers for s, _ in rows]
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=120)
    ax.plot(ws, [s.rate for s, _ in rows], "o-", label="stream (ZeroMQ + dispatcher + torchdata)")
    ax.plot(ws, [d.rate for _, d in rows], "s--", label="DataLoader + IterableDataset")
    ax.set_xlabel("worker processes")
    ax.set_ylabel("samples / s")
    ax.set_xticks(ws)
    ax.set_title(f"throughput vs workers ({label})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", default="1,2,4", help="worker counts (default: %(default)s)")
    p.add_argument("--per-worker", type=int, default=16, help="samples timed per worker (default 16)")
    p.add_argument("--backend", default="procedural", help="procedural (default) or noise")
    p.add_argument("--backend-options", default="{}", help="JSON, e.g. '{\"burn_s\": 0.05}' for noise")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", default="224x224")
    p.add_argument("--mix", default="3q")
    p.add_argument("--credit", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1, help="runs per point, best kept")
    p.add_argument("--credits", default="1,2,4,8", help="credits for the staleness table (default: %(default)s)")
    p.add_argument("--stale-workers", type=int, default=2)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-staleness", action="store_true")
    p.add_argument("--plot", default="bench/out/stream_throughput.png", help="PNG path (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from ..config import Scales

    scales = Scales().updated({"frames": args.frames, "size": args.size})
    label = f"{args.backend}, {args.frames}x{args.size}, {os.cpu_count()} cores"
    if not args.skip_throughput:
        counts = [int(x) for x in args.workers.split(",") if x.strip()]
        import json

        opts = json.loads(args.backend_options)
        if opts:
            label += ", " + ", ".join(f"{k}={v}" for k, v in opts.items())
        rows = run_throughput(counts, args.per_worker, args.backend, opts, scales, args.mix, args.repeats, args.credit)
        print(format_throughput(rows, label))
        print(f"plot: {plot(rows, args.plot, label)}")
    if not args.skip_staleness:
        credits = [int(x) for x in args.credits.split(",") if x.strip()]
        print(format_staleness(run_staleness(credits, args.stale_workers)))
    return 0


def register_bench(bsub) -> None:
    add_command(
        bsub,
        "stream",
        "stream vs DataLoader+IterableDataset throughput; mix-switch staleness",
        __doc__,
        add_arguments,
        run,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return script_main(argv, __doc__, add_arguments, run)
