#!/usr/bin/env python
"""Trainer-process CPU per sample: data.map_method thread vs process.

For each method and simulator worker count: the real stream (dispatcher + local fleet of procedural
workers) -> build_loader with the tiny Qwen2-VL's collator (decode, chat template, HF processor,
tokenize, label masking in `map_workers` threads of this process, or in encoder processes) -> a loop
that only takes batches, as a training loop would. Over the measured window (after a warm-up, so the
encoders' start is not counted) it reports, per sample:

* main-process CPU: `time.process_time()`, every thread of this process (dispatcher, torchdata,
  and with "thread" the encode threads; encoder processes are not this process);
* main-thread CPU: `time.thread_time()` of the loop taking the batches;
* encoder-process CPU ("process" only: where the encode work went; psutil on the encoder pids);
* samples/s taken.

    python bench/trainer_cpu.py --samples 64 --frames 8 --size 64x64 --out runs/trainer_cpu.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _encoder_cpu_s(loader) -> float:
    """CPU seconds (user + system) of the loader's encoder processes so far (0 with threads)."""
    import psutil

    it = getattr(getattr(loader.mapper, "_it", None), "_it", None)
    total = 0.0
    for w in getattr(it, "_workers", []):
        pid = getattr(w, "pid", None)
        if pid is None:
            continue
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(collator, method: str, workers: int, args: argparse.Namespace) -> dict:
    from simsv_stream.config import Scales
    from simsv_stream.stream import StreamConfig, build_loader

    w, h = (int(x) for x in args.size.split("x"))
    scales = Scales(frames=args.frames, width=w, height=h).updated({"rooms": args.rooms})
    cfg = StreamConfig(
        endpoint="tcp://127.0.0.1:*",
        control_endpoint="off",
        workers=workers,
        codec=args.codec,
        scales=scales,
        mix=args.mix,
        seed=args.seed,
        timeout_s=120,
    )
    loader = build_loader(
        cfg,
        map_fn=collator.encode,
        collate_fn=collator.collate,
        batch_size=args.batch_size,
        map_workers=args.map_workers,
        prefetch=2,
        map_method=method,
    )
    try:
        it = iter(loader)
        for _ in range(args.warmup):
            next(it)
        n = max(1, args.samples // args.batch_size)
        enc0, p0, th0, t0 = _encoder_cpu_s(loader), time.process_time(), time.thread_time(), time.perf_counter()
        for _ in range(n):
            batch = next(it)
            assert batch["input_ids"].shape[0] == args.batch_size
        wall = time.perf_counter() - t0
        proc, thread, enc = time.process_time() - p0, time.thread_time() - th0, _encoder_cpu_s(loader) - enc0
    finally:
        loader.close()
    samples = n * args.batch_size
    return {
        "method": method,
        "workers": workers,
        "map_workers": args.map_workers,
        "samples": samples,
        "proc_ms": 1000 * proc / samples,
        "thread_ms": 1000 * thread / samples,
        "enc_ms": 1000 * enc / samples if method == "process" else None,
        "sps": samples / wall,
    }


def table(rows: list[dict], args: argparse.Namespace) -> str:
    head = (
        f"trainer-process CPU per sample: tiny Qwen2-VL processor, {args.frames} frames of {args.size}, codec "
        f"{args.codec}, batch {args.batch_size}, map_workers {args.map_workers}, {os.cpu_count()} CPU cores\n\n"
        "| method | workers | samples | main-process CPU ms/sample | main-thread CPU ms/sample | "
        "encoder-process CPU ms/sample | samples/s |\n|---|---|---|---|---|---|---|\n"
    )
    return head + "".join(
        f"| {r['method']} | {r['workers']} | {r['samples']} | {r['proc_ms']:.2f} | {r['thread_ms']:.2f} | "
        f"{'-' if r['enc_ms'] is None else format(r['enc_ms'], '.2f')} | {r['sps']:.1f} |\n"
        for r in rows
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default="thread,process")
    p.add_argument("--workers", default="1,2", help="simulator worker counts, comma-separated")
    p.add_argument("--map-workers", type=int, default=2, help="encoders (threads or processes)")
    p.add_argument("--samples", type=int, default=64, help="measured samples per point")
    p.add_argument("--warmup", type=int, default=2, help="batches taken before measuring")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", default="64x64")
    p.add_argument("--rooms", default="1")
    p.add_argument("--codec", default="raw", choices=("raw", "jpeg"))
    p.add_argument("--mix", default="abs_distance=1 rel_direction_easy=1 object_count=1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-dir", default=None, help="tiny model cache (default: a temporary folder)")
    p.add_argument("--out", default=None, help="write the markdown table here")
    args = p.parse_args(argv)

    from trainers.collate import VideoQACollator
    from trainers.processing import load_processor
    from trainers.tiny_model import cached_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        tiny = cached_tiny_model(args.model_dir or tmp, "qwen2_vl")
        collator = VideoQACollator(load_processor(str(tiny)))
        rows = []
        for method in args.methods.split(","):
            for workers in _ints(args.workers):
                rows.append(measure(collator, method, workers, args))
                r = rows[-1]
                print(
                    f"{method} {workers} worker(s): {r['proc_ms']:.2f} ms/sample main-process CPU, "
                    f"{r['sps']:.1f} samples/s",
                    flush=True,
                )
    text = table(rows, args)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
