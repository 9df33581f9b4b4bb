"""`simsv-stream bench step`: the training step alone, measured honestly.

    simsv-stream bench step --config configs/qwen2.5-vl-3b-lora.yaml [section.key=value ...]
    simsv-stream bench step --model DIR [--batch 4 --frames 16 --size 224x224 --device cuda --reps 10 --json]
    simsv-stream bench step --model DIR --variants all     # each speed fix switched off, one at a time

It builds the config's model (or DIR with LoRA on the language model), makes real samples once with
the workers' own code (the config's backend and mix, no sockets), collates one fixed batch, then times
forward + backward + AdamW step with a device sync: warm-up steps, then the median and min of --reps.
One more step runs under torch.profiler to count what the host does: top-level aten ops, attention
calls (SDPA / flash), and on CUDA kernel launches and synchronizations. A step whose time moves with
CPU load is host-bound; the host CPU time per step (`host_ms`) next to the wall time shows it.

Useful FLOPs and MFU: simsv_stream/benchmarks/flops.py (formula there; MFU against the device's dense
bf16 peak, `--peak-tflops` to override; on CPU only achieved FLOP/s). `--json` prints one object: the
first variant's fields at the top level, every variant under "variants".

Variants (each a set of config overrides on top of the config; `fast` is the config as given):
    fast                   the config as given (every speed fix on by default)
    vision-grad            model.vision_no_grad=false: the frozen vision tower inside autograd
    per-window-attention   model.vision_attention=per_window: transformers' one attention call per window
    full-loss              model.labelled_loss=false: lm_head + fp32 loss at every position
    checkpointing          model.gradient_checkpointing=true: every decoder layer recomputed
    lora-dropout           lora.dropout=0.05
    unfused-adamw          optim.fused=false
    legacy                 all of the above at once: the trainer before these fixes
    compile                model.compile=true (opt-in, not in `all`): compiled decoder layers
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..commands import add_command, one_line_errors, script_main
from ..errors import ConfigError

VARIANTS: dict[str, dict[str, Any]] = {
    "fast": {},
    "vision-grad": {"model.vision_no_grad": False},
    "per-window-attention": {"model.vision_attention": "per_window"},
    "full-loss": {"model.labelled_loss": False},
    "checkpointing": {"model.gradient_checkpointing": True},
    "lora-dropout": {"lora.dropout": 0.05},
    "unfused-adamw": {"optim.fused": False},
    "compile": {"model.compile": True},
}
VARIANTS["legacy"] = {k: v for name, ov in VARIANTS.items() if name not in ("fast", "compile") for k, v in ov.items()}
ALL_VARIANTS = (
    "fast",
    "vision-grad",
    "per-window-attention",
    "full-loss",
    "checkpointing",
    "lora-dropout",
    "unfused-adamw",
    "legacy",
)
DEFAULT_MODEL_SCALES = {"frames": 16, "size": "224x224", "rooms": "1-3"}
LORA_ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class StepResult:
    variant: str
    device: str
    batch: int
    ms_median: float
    ms_min: float
    host_ms: float  # CPU time of the stepping thread per step (wall ~ host_ms: host-bound)
    samples_per_s: float
    text_tokens: int
    vision_patches: int
    labelled_tokens: int
    useful_flop: float
    achieved_tflops: float
    mfu: Optional[float]  # None on CPU or an unknown GPU without --peak-tflops
    peak_mem_gb: Optional[float]
    aten_ops_per_step: int
    sdpa_calls_per_step: int
    kernel_launches_per_step: Optional[int]
    syncs_per_step: Optional[int]
    checkpointing: str
    overrides: dict[str, Any]


# ----------------------------------------------------------------------------------------- samples


def make_samples(stream: Any, n: int) -> list:
    """n decoded Samples from the worker's own Producer, through the wire codec (what the stream
    delivers), without a fleet: the same ids a fresh stream would order first."""
    from .. import wire
    from ..export import plan_orders
    from ..stream.backends import get_backend
    from ..stream.worker import Producer, Unaskable

    prod = Producer(get_backend(stream.backend, stream.backend_options))
    chash = stream.scales.config_hash()
    out: list = []
    for g in plan_orders(n * 3, stream.seed, stream.mix, stream.scales):
        for sid, qtype in g.items:
            try:
                frames, qa, prov = prod.produce(stream.seed, sid, qtype, g.episode_seed, stream.scales, 0, chash)
            except Unaskable:
                continue
            parts = wire.encode_sample(
                epoch=0,
                sample_id=sid,
                frames=frames,
                qa=qa,
                provenance=prov,
                codec=stream.codec,
                quality=stream.jpeg_quality,
            )
            out.append(wire.decode_frames(wire.decode([bytes(memoryview(p)) for p in parts]), writable=True))
            if len(out) >= n:
                return out
    if not out:
        raise ConfigError("mix", "no question of the mix was askable at these scales; raise frames or rooms")
    return out


# ----------------------------------------------------------------------------------------- config


def raw_config(
    config: Optional[str],
    model: Optional[str],
    overrides: Sequence[str],
    batch: Optional[int],
    frames: Optional[int],
    size: Optional[str],
    device: Optional[str],
) -> dict[str, Any]:
    from trainers.run_config import apply_overrides, yaml_load

    if config:
        p = Path(config)
        if not p.is_file():
            raise ConfigError("--config", f"no such file: {str(p)!r}")
        raw = yaml_load(p.read_text()) or {}
        if not isinstance(raw, dict):
            raise ConfigError("--config", f"{p}: expected a mapping of sections")
    elif model:
        raw = {
            "model": {"dtype": "auto"},
            "lora": {"r": 16, "alpha": 32, "target_modules": LORA_ALL},
            "data": {"batch_size": 4},
            "stream": {"backend": "procedural", "codec": "raw"},
            "scales": dict(DEFAULT_MODEL_SCALES),
            "trainer": {"precision": "bf16-mixed"},
            "mix": "3q",
        }
    else:
        raise ConfigError("--config", "give --config FILE or --model DIR")
    raw = apply_overrides(raw, overrides)
    if model:
        raw.setdefault("model", {})["path"] = model
    raw.setdefault("optim", {}).setdefault("total_steps", 1000)  # the schedule's length; no Trainer to ask
    if batch is not None:
        raw.setdefault("data", {})["batch_size"] = batch
    scales = raw.setdefault("scales", {})
    if frames is not None:
        scales["frames"] = frames
    if size is not None:
        scales["size"] = size
    if device is not None:
        raw.setdefault("trainer", {})["accelerator"] = "cpu" if device == "cpu" else "gpu"
    return raw


def with_overrides(raw: dict[str, Any], flat: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(raw, default=str))
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


# ----------------------------------------------------------------------------------------- measuring


def _count_host(prof: Any) -> tuple[int, int, int, int]:
    """Top-level aten ops (no aten ancestor), attention calls, kernel launches, synchronizations."""
    aten = attn = launches = syncs = 0
    for e in prof.events():
        name = e.name
        if name.startswith("aten::"):
            parent, nested = e.cpu_parent, False
            while parent is not None:
                if parent.name.startswith("aten::"):
                    nested = True
                    break
                parent = parent.cpu_parent
            if not nested:
                aten += 1
                attn += "scaled_dot_product" in name or "flash_attn" in name or "varlen" in name
        elif name.startswith("flash_attn") and e.cpu_parent is None:
            attn += 1
        elif name in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernelEx"):
            launches += 1
        elif "Synchronize" in name:
            syncs += 1
    return aten, attn, launches, syncs


class Stepper:
    """One variant: the module built from the run config, its optimizer, a step that mirrors Lightning's
    automatic optimization (loss, backward, optimizer step, zero_grad) under the config's precision."""

    def __init__(self, rc: Any, device: Any) -> None:
        import torch

        from trainers.module import VideoVLMModule

        self.module = VideoVLMModule(rc.model, rc.lora, rc.optim, rc.data)
        self.module.to(device)
        self.module.train()
        self.optimizer = self.module.configure_optimizers()["optimizer"]
        self.device = device
        precision = str(rc.trainer.get("precision", "32-true"))
        mixed = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
        self.autocast = (
            torch.autocast(device.type, dtype=mixed)
            if mixed is not None and device.type == "cuda"
            else contextlib.nullcontext()
        )

    def step(self, batch: dict[str, Any]) -> None:
        with self.autocast:
            loss = self.module.training_loss(batch)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def measure(
    rc: Any,
    batch_cpu: dict[str, Any],
    name: str,
    overrides: dict[str, Any],
    device: Any,
    reps: int,
    warmup: int,
    peak: Optional[float],
) -> StepResult:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from trainers.collate import model_inputs

    from .flops import step_work

    stepper = Stepper(rc, device)
    module = stepper.module
    batch = module.transfer_batch_to_device(dict(batch_cpu), device, 0)
    cuda = device.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    for _ in range(max(1, warmup)):
        stepper.step(batch)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    wall, host = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        stepper.step(batch)
        sync()
        wall.append(time.perf_counter() - t0)
        host.append(time.thread_time() - c0)
    peak_mem = torch.cuda.max_memory_allocated() / 1e9 if cuda else None
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        stepper.step(batch)
        sync()
    aten, attn, launches, syncs = _count_host(prof)
    syncs = max(0, syncs - 1) if cuda else syncs  # the bench's own synchronize() that ends the step
    fam = module.family
    work = step_work(module.model, fam.vision_modules + fam.projector_modules, model_inputs(batch_cpu))
    med = statistics.median(wall)
    achieved = work.useful_flop / med / 1e12
    plan = module.memory_plan
    ckpt = plan.describe() if plan is not None else f"gradient_checkpointing={rc.model.gradient_checkpointing}"
    n = int(batch_cpu["input_ids"].shape[0])
    result = StepResult(
        variant=name,
        device=torch.cuda.get_device_name(device) if cuda else "cpu",
        batch=n,
        ms_median=1000 * med,
        ms_min=1000 * min(wall),
        host_ms=1000 * statistics.median(host),
        samples_per_s=n / med,
        text_tokens=work.tokens,
        vision_patches=work.patches,
        labelled_tokens=work.labelled_tokens,
        useful_flop=work.useful_flop,
        achieved_tflops=achieved,
        mfu=(achieved / peak) if (cuda and peak) else None,
        peak_mem_gb=peak_mem,
        aten_ops_per_step=aten,
        sdpa_calls_per_step=attn,
        kernel_launches_per_step=launches if cuda else None,
        syncs_per_step=syncs if cuda else None,
        checkpointing=ckpt,
        overrides=overrides,
    )
    del stepper, module, batch
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def run_step_bench(
    raw: dict[str, Any],
    variants: Sequence[str],
    reps: int = 5,
    warmup: int = 2,
    peak_tflops: Optional[float] = None,
    progress: bool = True,
    on_result: Optional[Callable[[list[StepResult]], None]] = None,
) -> list[StepResult]:
    import torch

    from trainers.run_config import build_run_config

    from ..stream.config import StreamConfig
    from .flops import peak_tflops as device_peak

    rc = build_run_config(raw)
    acc = str(rc.trainer.get("accelerator", "auto"))
    device = torch.device("cuda" if torch.cuda.is_available() and acc in ("auto", "gpu", "cuda") else "cpu")
    stream = StreamConfig.from_dict(dict(rc.stream), scales=rc.scales, mix=rc.mix)
    batch_size = rc.data.batch_size
    samples = make_samples(stream, batch_size)
    peak = peak_tflops or (device_peak(torch.cuda.get_device_name(device)) if device.type == "cuda" else None)
    results = []
    batch_cpu: Optional[dict[str, Any]] = None
    for name in variants:
        overrides = VARIANTS[name]
        vrc = build_run_config(with_overrides(raw, overrides))
        if batch_cpu is None:  # one fixed batch, collated by the first variant's processor (all share it)
            from trainers.collate import VideoQACollator
            from trainers.families import family_for_model_type, read_model_type
            from trainers.processing import load_processor

            fam = family_for_model_type(read_model_type(vrc.model.path))
            d = vrc.data
            collator = VideoQACollator(
                load_processor(vrc.model.path, fam),
                fam,
                num_frames=d.num_frames,
                max_length=d.max_length,
                system_prompt=d.system_prompt,
                mc_answer=d.mc_answer,
                video_fps=d.video_fps,
            )
            batch_cpu = collator.collate([collator.encode(samples[i % len(samples)]) for i in range(batch_size)])
        r = measure(vrc, batch_cpu, name, overrides, device, reps, warmup, peak)
        results.append(r)
        if on_result is not None:  # results so far, so a run cut short by a time limit keeps them
            on_result(results)
        if progress:
            print(
                f"  {name}: {r.ms_median:.0f} ms/step, {r.aten_ops_per_step} aten ops, "
                f"{r.sdpa_calls_per_step} attention calls",
                flush=True,
            )
    return results


# ----------------------------------------------------------------------------------------- report


def _fmt(v: Any, spec: str = "{:.1f}") -> str:
    return "-" if v is None else spec.format(v)


def table(results: Sequence[StepResult]) -> str:
    base = results[0]
    head = (
        "| variant | ms/step (median) | min | host ms | x fast | samples/s | aten ops | attention calls | "
        "launches | syncs | useful TFLOP | TFLOP/s | MFU | peak GB |"
    )
    rows = [head, "|" + "---|" * 14]
    for r in results:
        rows.append(
            f"| {r.variant} | {r.ms_median:.1f} | {r.ms_min:.1f} | {r.host_ms:.1f} | "
            f"{r.ms_median / base.ms_median:.2f} | "
            f"{r.samples_per_s:.2f} | {r.aten_ops_per_step} | {r.sdpa_calls_per_step} | "
            f"{_fmt(r.kernel_launches_per_step, '{}')} | {_fmt(r.syncs_per_step, '{}')} | {r.useful_flop / 1e12:.3f} | "
            f"{r.achieved_tflops:.2f} | {_fmt(r.mfu and 100 * r.mfu, '{:.1f} %')} | {_fmt(r.peak_mem_gb, '{:.2f}')} |"
        )
    first = results[0]
    rows += [
        "",
        f"device {first.device}; batch {first.batch}: {first.text_tokens} text tokens, {first.vision_patches} "
        f"vision patches, {first.labelled_tokens} labelled tokens; {first.checkpointing}",
    ]
    return "\n".join(rows)


def plot(results: Sequence[StepResult], path: str | Path) -> None:
    """Per variant: ms/step (MFU on the bars when known) and the host's aten ops and attention calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.variant for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(results) + 1.6))
    ax = axes[0]
    bars = ax.barh(names, [r.ms_median for r in results], color="C0")
    for bar, r in zip(bars, results):
        label = f"{r.ms_median:.0f} ms" + (f", MFU {100 * r.mfu:.1f} %" if r.mfu is not None else "")
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {label}", va="center", fontsize=8)
    ax.set_xlabel("ms per step (median)")
    ax.set_title(f"training step, {results[0].device}, batch {results[0].batch}")
    ax.invert_yaxis()
    ax = axes[1]
    ys = range(len(results))
    ax.barh([y - 0.2 for y in ys], [r.aten_ops_per_step for r in results], height=0.4, color="C1", label="aten ops")
    ax.barh(
        [y + 0.2 for y in ys], [r.sdpa_calls_per_step for r in results], height=0.4, color="C3", label="attention calls"
    )
    ax.set_yticks(list(ys))
    ax.set_xscale("log")
    ax.set_xlabel("per step (log)")
    ax.set_title("host work per step")
    ax.legend(fontsize=8)
    ax.invert_yaxis()
    ax.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)


def to_json(results: Sequence[StepResult]) -> dict[str, Any]:
    out = asdict(results[0])
    out["variants"] = {r.variant: asdict(r) for r in results}
    return out


# ----------------------------------------------------------------------------------------- CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, metavar="FILE", help="run config (configs/*.yaml)")
    p.add_argument("--model", default=None, metavar="DIR", help="model directory (with --config: replaces model.path)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: data.batch_size; --model: 4)")
    p.add_argument("--frames", type=int, default=None, help="frames per video (default: the config's; --model: 16)")
    p.add_argument("--size", default=None, metavar="WxH", help="frame size (default: the config's; --model: 224x224)")
    p.add_argument("--device", choices=("cuda", "cpu"), default=None, help="default: cuda when available")
    p.add_argument("--reps", type=int, default=5, help="timed steps (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument(
        "--variants",
        default="fast",
        metavar="V1,V2|all",
        help=f"variants to run (default fast; all: {','.join(ALL_VARIANTS)}); also: compile",
    )
    p.add_argument("--peak-tflops", type=float, default=None, help="device peak for MFU (default: table by GPU name)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="also write the table (.md) or JSON (.json) here, and a bar chart beside it (.png)",
    )
    p.add_argument("overrides", nargs="*", metavar="section.key=value", help="run-config overrides")


def parse_variants(text: str) -> list[str]:
    names: list[str] = []
    for v in (v.strip() for v in text.split(",")):
        names += [n for n in (ALL_VARIANTS if v == "all" else (v,)) if v and n not in names]
    bad = [v for v in names if v not in VARIANTS]
    if bad or not names:
        raise ConfigError(
            "--variants", f"unknown variant {bad[0] if bad else text!r}; known: all, {', '.join(VARIANTS)}"
        )
    return names


def run(args: argparse.Namespace) -> int:
    import logging
    import warnings

    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore")
    if args.reps < 1 or args.warmup < 0:
        raise ConfigError("--reps", f"need --reps >= 1 and --warmup >= 0, got {args.reps} and {args.warmup}")
    variants = parse_variants(args.variants)
    raw = raw_config(args.config, args.model, args.overrides, args.batch, args.frames, args.size, args.device)
    out = Path(args.out) if args.out else None

    def save(results: list[StepResult]) -> None:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(
                json.dumps(to_json(results), indent=2) + "\n" if out.suffix == ".json" else table(results) + "\n"
            )

    results = run_step_bench(
        raw,
        variants,
        reps=args.reps,
        warmup=args.warmup,
        peak_tflops=args.peak_tflops,
        progress=not args.json,
        on_result=save,
    )
    print(json.dumps(to_json(results)) if args.json else table(results), flush=True)
    if out is not None:
        plot(results, out.with_suffix(".png"))
    return 0


def register_bench(bsub) -> None:
    p = add_command(
        bsub, "step", "the training step alone: ms, MFU, host ops, per speed fix", __doc__, add_arguments, run
    )
    one_line_errors(p)


def main(argv: Sequence[str] | None = None) -> int:
    return script_main(argv, __doc__, add_arguments, run, prog="bench/step.py")
