"""`simsv-stream train --config configs/X.yaml [--section.key value ...] [section.key=value ...]`

Fine-tunes a video VLM (LoRA or full) on streamed samples. The config's sections: model, lora, optim,
data, trainer, stream, scales, mix, schedule, eval (see trainers/run_config.py and configs/*.yaml).
Overrides use the config's dotted names and YAML values, e.g. `--trainer.max_steps 20`,
`--optim.lr 1e-4`, `stream.workers=4`; keys not listed below work the same way. Everything is validated
before any model or worker starts.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any, Optional

# dotted options listed in --help; any other key works as `section.key=value`
_TRAINER_KEYS = (
    "max_steps",
    "accelerator",
    "devices",
    "precision",
    "accumulate_grad_batches",
    "log_every_n_steps",
    "val_check_interval",
    "gradient_clip_val",
    "strategy",
    "num_nodes",
)
_STREAM_KEYS = ("backend", "workers", "endpoint", "control_endpoint", "credit", "codec", "seed", "timeout_s")
_SCALES_KEYS = ("frames", "size", "fps", "rooms", "questions_per_episode")


def _section_keys() -> dict[str, tuple[str, ...]]:
    from trainers.config import DataConfig, LoraConfig, ModelConfig, OptimConfig
    from trainers.run_config import EvalConfig

    keys = {
        name: tuple(f.name for f in fields(cls))
        for name, cls in (
            ("model", ModelConfig),
            ("lora", LoraConfig),
            ("optim", OptimConfig),
            ("data", DataConfig),
            ("eval", EvalConfig),
        )
    }
    keys.update(trainer=_TRAINER_KEYS, stream=_STREAM_KEYS, scales=_SCALES_KEYS)
    return keys


class _TrainParser(argparse.ArgumentParser):
    """Keeps unrecognized `--section.key value` / `section.key=value` strings as overrides instead of
    failing, so any config key can be overridden, not only the ones listed in --help."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        ns, extras = super().parse_known_args(args, namespace)
        ns.overrides = list(getattr(ns, "overrides", None) or []) + list(extras)
        return ns, []


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a video VLM on streamed simulated samples (YAML config + overrides)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default=None, metavar="FILE", help="run config YAML (configs/*.yaml)")
    p.add_argument("--print-config", action="store_true", help="print the validated config and exit")
    p.add_argument(
        "--resume",
        default=None,
        metavar="CKPT",
        help="resume model, optimizer, schedule position and stream state from a checkpoint "
        "(`last`: OUTPUT_DIR/checkpoints/last.ckpt)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="save a checkpoint every N steps (default: max_steps / 4)",
    )
    for section, keys in _section_keys().items():
        g = p.add_argument_group(f"{section} overrides")
        for k in keys:
            g.add_argument(f"--{section}.{k}", dest=f"ov::{section}.{k}", default=argparse.SUPPRESS, metavar="V")
    for k in ("mix", "output_dir", "seed_everything"):
        p.add_argument(f"--{k}", dest=f"ov::{k}", default=argparse.SUPPRESS, metavar="V")
    p.__class__ = _TrainParser  # any other `--section.key value` or `section.key=value` is an override
    p.set_defaults(func=run, overrides=[])


def _overrides(args: argparse.Namespace) -> list[str]:
    out = [f"{k[4:]}={v}" for k, v in vars(args).items() if k.startswith("ov::")]
    return out + list(args.overrides or [])


def build_datamodule(cfg: Any, module: Any) -> Any:
    """The DataModule feeding `module`: the stream's (procedural/noise/... backends: a dispatcher and
    its local fleet per rank, trainers.datamodule), or the in-process synthetic stand-in
    (`stream.backend: synthetic`)."""
    backend = (cfg.stream or {}).get("backend", "procedural")
    if backend == "synthetic":
        from trainers.data import SyntheticDataModule

        return SyntheticDataModule(
            module.collator,
            batch_size=cfg.data.batch_size,
            seed=cfg.stream.get("seed", 0),
            frames=cfg.scales.frames,
            height=cfg.scales.height,
            width=cfg.scales.width,
            eval_samples=cfg.eval.samples,
            eval_batch_size=cfg.eval.batch_size,
        )
    from trainers.datamodule import StreamDataModule

    return StreamDataModule.from_run_config(cfg, module)


def _resume_path(resume: Any, out: Any) -> Any:
    from pathlib import Path

    from simsv_stream.errors import ConfigError

    if resume is None:
        return None
    p = Path(out) / "checkpoints" / "last.ckpt" if resume == "last" else Path(resume)
    if not p.is_file():
        raise ConfigError("--resume", f"no checkpoint at {str(p)!r}")
    return str(p)


def trainer_threads(cfg: Any, cores: int) -> Optional[int]:
    """Intra-op threads for a trainer process whose step runs on a GPU: the cores of this rank (cores /
    devices on the node) left after its local workers and encoder processes, at least 1. torch's default
    (every core) starts OpenMP teams that fight the render workers for the same cores, while the trainer's
    own CPU work is small. None (torch's default) when the step itself runs on the CPU."""
    import torch

    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available()):
        return None
    devices = cfg.trainer.get("devices", 1)
    per_node = devices if isinstance(devices, int) and devices > 0 else len(devices) if isinstance(devices, list) else 1
    from simsv_stream.stream.config import StreamConfig

    local_workers = int((cfg.stream or {}).get("workers", StreamConfig.workers))
    encoders = cfg.data.map_workers if cfg.data.map_method == "process" else 0
    return max(1, cores // max(1, per_node) - local_workers - encoders)


def run(args: argparse.Namespace) -> int:
    import json
    import time
    from pathlib import Path

    from simsv_stream.errors import ConfigError
    from trainers.run_config import load_run_config

    t_start = time.perf_counter()
    cfg = load_run_config(args.config, _overrides(args))
    from trainers.families import family_for_model_type, read_model_type

    family_for_model_type(read_model_type(cfg.model.path))  # missing dir / unknown family: one line, now
    backend = (cfg.stream or {}).get("backend", "procedural")
    if cfg.schedule and backend == "synthetic":
        raise ConfigError(
            "schedule", "the synthetic source has no live mix; drop the schedule (schedule=[]) or use a stream backend"
        )
    out = Path(cfg.output_dir)
    ckpt_path = _resume_path(args.resume, out)
    if args.print_config:
        print(json.dumps(cfg.to_dict(), indent=2, default=str))
        return 0

    import os

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from trainers.callbacks import CurriculumCallback, StreamMetricsCallback
    from trainers.module import VideoVLMModule

    L.seed_everything(cfg.seed_everything, workers=True)
    threads = trainer_threads(cfg, len(os.sched_getaffinity(0)))
    if threads is not None:
        torch.set_num_threads(threads)
    module = VideoVLMModule(cfg.model, cfg.lora, cfg.optim, cfg.data, max_new_tokens=cfg.eval.max_new_tokens)
    datamodule = build_datamodule(cfg, module)
    trainer_kwargs = dict(cfg.trainer)
    if cfg.eval.samples and cfg.eval.every_n_steps:
        trainer_kwargs.setdefault("val_check_interval", cfg.eval.every_n_steps)
        trainer_kwargs.setdefault("check_val_every_n_epoch", None)
    trainer_kwargs.setdefault("num_sanity_val_steps", 0)  # eval runs at every_n_steps and at the end
    if not cfg.eval.samples:
        trainer_kwargs.setdefault("limit_val_batches", 0)
    every = args.checkpoint_every or max(1, cfg.trainer["max_steps"] // 4)
    metrics = StreamMetricsCallback()
    callbacks: list[Any] = [
        metrics,
        ModelCheckpoint(dirpath=str(out / "checkpoints"), save_last=True, save_top_k=-1, every_n_train_steps=every),
    ]
    if cfg.schedule:
        callbacks.insert(0, CurriculumCallback(cfg.schedule))
    trainer = L.Trainer(
        default_root_dir=str(out),
        logger=[CSVLogger(str(out), name="csv"), TensorBoardLogger(str(out), name="tb")],
        callbacks=callbacks,
        **trainer_kwargs,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    line = metrics.summary_line()
    if cfg.eval.samples:
        t0 = time.perf_counter()
        trainer.validate(module, datamodule=datamodule, verbose=False)
        if module.last_eval is not None and trainer.is_global_zero:
            print(
                f"held-out eval: {cfg.eval.samples} samples from the reserved seed "
                f"{int((cfg.stream or {}).get('seed', 0)) + cfg.eval.seed_offset} ({time.perf_counter() - t0:.1f} s)"
            )
            print(module.last_eval.table())
            with open(out / "eval.json", "w", encoding="utf-8") as f:
                json.dump(module.last_eval.to_dict(), f, indent=2)
    if trainer.is_global_zero:
        module.save_pretrained(str(out / "final"))
        if line:
            print(line)
        csv_dir = Path(trainer.loggers[0].log_dir) if trainer.loggers else out / "csv"
        print(
            f"logs: {csv_dir}/metrics.csv (CSV), {out}/tb (TensorBoard: tensorboard --logdir {out}/tb); "
            f"checkpoints: {out}/checkpoints (last.ckpt; resume with --resume last); "
            f"adapter + processor: {out}/final; total {time.perf_counter() - t_start:.1f} s"
        )
    return 0
