"""GPU driver for `bench balance` (used by bench/gpu_balance.sh): load the configured model ONCE, time its
training step at a few batch sizes on fixed samples (the `--model-step-ms` sizing for that model), then run
the balance worker sweep with the same loaded model (no second load).

    python3 bench/gpu_balance.py --config configs/qwen2.5-vl-3b-lora.yaml --out DIR \
        --workers 1,2,4,8,12 --steps 40 --step-batches 1,4 [section.key=value ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def time_steps(stepper, samples, batch: int, reps: int, warm: int = 2) -> dict:
    import torch

    enc = [stepper.encode(s) for s in samples]
    batch_data = stepper.collate([enc[i % len(enc)] for i in range(batch)])
    for _ in range(warm):
        stepper.step(batch_data)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        stepper.step(batch_data)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    mem = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    tokens = None
    ids = batch_data.get("input_ids") if isinstance(batch_data, dict) else None
    if ids is not None:
        tokens = int(ids.numel())
    return {
        "batch": batch,
        "reps": reps,
        "median_ms": 1000 * ts[len(ts) // 2],
        "min_ms": 1000 * ts[0],
        "mean_ms": 1000 * sum(ts) / len(ts),
        "samples_per_s": batch / ts[len(ts) // 2],
        "tokens_per_batch": tokens,
        "max_mem_gib": mem,
    }


def main() -> int:
    import simsv_stream.benchmarks.balance as B
    from simsv_stream.benchmarks.step import make_samples

    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", default="1,2,4,8,12")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--capacity-s", type=float, default=3.0)
    ap.add_argument("--point-timeout", type=float, default=18.0)
    ap.add_argument("--step-batches", default="1,4")
    ap.add_argument("--step-reps", type=int, default=5)
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    setup = B.load_setup(a.config, a.overrides)
    workers = B.parse_workers(a.workers)
    n_points = len(workers)
    stepper = B.ModelStep(setup.run_config, total_steps=n_points * (a.steps + a.warmup + 50) + 100)
    import torch

    n_params = sum(p.numel() for p in stepper.module.model.parameters())
    n_train = sum(p.numel() for p in stepper.module.model.parameters() if p.requires_grad)
    n_vis = sum(p.numel() for n, p in stepper.module.model.named_parameters() if ".visual." in f".{n}")
    info = {
        "params": n_params,
        "trainable_params": n_train,
        "vision_params": n_vis,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "model_load_s": stepper.load_s,
        "stepper": stepper.describe(),
    }
    print(
        f"model: {n_params / 1e9:.3f} B params ({n_train / 1e6:.1f} M trainable, vision "
        f"{(n_vis or 0) / 1e6:.0f} M) on {info['device']}; loaded in {stepper.load_s:.1f} s",
        flush=True,
    )
    # 1) the training step alone, on fixed samples, at a few batch sizes
    t1 = time.perf_counter()
    bs = [int(x) for x in a.step_batches.split(",") if x.strip()]
    samples = make_samples(setup.stream, max(bs))
    info["sample_make_s"] = time.perf_counter() - t1
    steps = []
    for b in bs:
        r = time_steps(stepper, samples, b, a.step_reps)
        steps.append(r)
        print(
            f"step batch {b}: median {r['median_ms']:.0f} ms (min {r['min_ms']:.0f}), {r['samples_per_s']:.1f} "
            f"samples/s, {r['tokens_per_batch']} tokens/batch, peak {r['max_mem_gib']:.1f} GiB",
            flush=True,
        )
    info["step_timing"] = steps
    (out / "model_step.json").write_text(json.dumps(info, indent=2) + "\n")
    # 2) the balance worker sweep with the same loaded model
    B.ModelStep = lambda rc, total_steps: stepper  # reuse the loaded model (run_balance builds one otherwise)
    res = B.run_balance(
        a.config,
        workers=workers,
        steps=a.steps,
        warmup=a.warmup,
        out=out,
        sweep={},
        baseline=False,
        capacity_s=a.capacity_s,
        point_timeout=a.point_timeout,
        overrides=a.overrides,
    )
    rep = out / "report.md"
    lines = [
        "",
        "## Model and training step (bench/gpu_balance.py)",
        "",
        f"- model: {n_params / 1e9:.3f} B parameters ({n_train / 1e6:.1f} M trainable LoRA, vision tower "
        f"{(n_vis or 0) / 1e6:.0f} M), random weights built from config; {info['device']}; loaded in "
        f"{stepper.load_s:.1f} s",
        f"- losses over the run: {stepper.loss_summary()}",
        "",
        "| batch | step ms (median) | step ms (min) | samples/s | tokens/batch | peak GPU GiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in steps:
        lines.append(
            f"| {r['batch']} | {r['median_ms']:.0f} | {r['min_ms']:.0f} | {r['samples_per_s']:.1f} | "
            f"{r['tokens_per_batch']} | {r['max_mem_gib']:.1f} |"
        )
    lines += [
        "",
        f"`--model-step-ms` for this model at batch {setup.batch_size}: use the measured step ms above "
        f"(e.g. `simsv-stream bench balance --config ... --model-step-ms "
        f"{next((r['median_ms'] for r in steps if r['batch'] == setup.batch_size), steps[-1]['median_ms']):.0f}`).",
        f"- driver wall time: {time.perf_counter() - t0:.0f} s",
        "",
    ]
    rep.write_text(rep.read_text() + "\n".join(lines))
    print("\n".join(lines), flush=True)
    print(f"recommendation: {res['recommendation'].text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
