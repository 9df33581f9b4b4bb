"""`VideoVLMModule`: a transformers video VLM (Qwen2-VL / Qwen2.5-VL / LLaVA-OneVision / LLaVA-Video)
with peft LoRA (optionally training the projector), AdamW + warm-up + cosine, greedy generation for eval.

Loading: `AutoModelForImageTextToText.from_pretrained` and the model's own processor from a hub id
(local HF cache only by default) or a local directory. An unknown family or a missing directory fails
with one line (ConfigError subclasses) before anything heavy happens.

The step is built for GPU throughput (docs/gpu.md): a frozen vision tower runs outside autograd, Qwen
vision windows share one attention call per block, the loss projects only labelled positions,
gradient checkpointing is `auto` (decided on the first batch), AdamW is fused, and the loss is read on
the host once per logging interval, not every step. Each has a config switch, measured by `bench step`.

Batches come from `VideoQACollator` (trainers.collate): model tensors + `meta`. Validation batches are
plain lists of `Sample`s (collate_fn=list); `validation_step` generates greedily and scores per type.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Optional, Sequence

import lightning as L
import torch

from simsv_stream.errors import ConfigError
from simsv_stream.sample import Sample

from .collate import VideoQACollator, model_inputs
from .config import DataConfig, LoraConfig, ModelConfig, OptimConfig
from .errors import ModelNotFoundError, UnknownModelFamilyError
from .families import Family, family_by_name, family_for_model_type, read_model_type
from .frozen_vision import detach_frozen_vision
from .loss import training_loss
from .memory import (
    MemoryPlan,
    apply_checkpointing,
    checkpointing_enable,
    decoder_layers,
    device_budget,
    plan_checkpointing,
)
from .processing import load_processor
from .vision_attention import batch_vision_attention

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(name: str) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return _DTYPES[name]


def resolve_family(cfg: ModelConfig) -> Family:
    fam = family_for_model_type(read_model_type(cfg.path))
    if cfg.family is not None and family_by_name(cfg.family) is not fam:
        raise UnknownModelFamilyError(
            "model.family", f"{cfg.family!r} given but {cfg.path!r} is a {fam.name} checkpoint"
        )
    return fam


def lora_target_modules(lora: LoraConfig, family: Family) -> Any:
    """A list (peft suffix match) for scope=all; for scope=language_model a regex that peft full-matches
    against module paths, so vision-tower layers with the same names (SigLIP's q_proj...) stay frozen."""
    if lora.scope == "all":
        return list(lora.target_modules)
    names = "|".join(sorted(set(lora.target_modules)))
    return rf".*{family.language_model_pattern}.*\.({names})"


class VideoVLMModule(L.LightningModule):
    def __init__(
        self,
        model: ModelConfig | dict,
        lora: Optional[LoraConfig | dict] = None,
        optim: Optional[OptimConfig | dict] = None,
        data: Optional[DataConfig | dict] = None,
        max_new_tokens: int = 16,
    ) -> None:
        super().__init__()
        self.model_cfg = ModelConfig.from_any(model)
        self.lora_cfg = LoraConfig.from_any(lora)
        self.optim_cfg = OptimConfig.from_any(optim)
        self.data_cfg = DataConfig.from_any(data)
        self.max_new_tokens = int(max_new_tokens)
        self.save_hyperparameters(
            {
                "model": self.model_cfg.to_dict(),
                "lora": self.lora_cfg.to_dict(),
                "optim": self.optim_cfg.to_dict(),
                "data": self.data_cfg.to_dict(),
                "max_new_tokens": self.max_new_tokens,
            }
        )
        self.family = resolve_family(self.model_cfg)
        self.processor = load_processor(self.model_cfg.path, self.family)
        d = self.data_cfg
        self.collator = VideoQACollator(
            self.processor,
            self.family,
            num_frames=d.num_frames,
            max_length=d.max_length,
            system_prompt=d.system_prompt,
            mc_answer=d.mc_answer,
            video_fps=d.video_fps,
        )
        if self.model_cfg.tf32 and torch.cuda.is_available():
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.memory_plan: Optional[MemoryPlan] = None
        self._logged_step = -1
        self.model = self._build_model()
        self._val_records: list[dict[str, Any]] = []
        self.last_eval: Optional[Any] = None  # simsv_stream.eval.Report of the last validation

    # ------------------------------------------------------------------ model ---------------------------
    def _build_model(self) -> torch.nn.Module:
        from transformers import AutoModelForImageTextToText

        cfg = self.model_cfg
        kwargs: dict[str, Any] = {"dtype": resolve_dtype(cfg.dtype), "local_files_only": cfg.local_files_only}
        if cfg.attn_implementation:
            kwargs["attn_implementation"] = cfg.attn_implementation
        try:
            model = AutoModelForImageTextToText.from_pretrained(cfg.path, **kwargs)
        except OSError as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelNotFoundError("model.path", f"cannot load weights of {cfg.path!r}: {first}") from None
        model.requires_grad_(False)
        if cfg.gradient_checkpointing is True:  # every layer, transformers' way; auto decides on the first batch
            checkpointing_enable(model)
        if self.lora_cfg.enabled:
            from peft import LoraConfig as PeftLoraConfig
            from peft import get_peft_model

            peft_cfg = PeftLoraConfig(
                r=self.lora_cfg.r,
                lora_alpha=self.lora_cfg.alpha,
                lora_dropout=self.lora_cfg.dropout,
                target_modules=lora_target_modules(self.lora_cfg, self.family),
                bias=self.lora_cfg.bias,
                modules_to_save=list(self.family.projector_modules) if cfg.train_projector else None,
                task_type=None,
            )
            try:
                model = get_peft_model(model, peft_cfg)
            except ValueError as e:  # peft's NoMatchingPeftModuleError: no module matched
                raise ConfigError(
                    "lora.target_modules",
                    f"no module of {cfg.path!r} matched "
                    f"{self.lora_cfg.target_modules} (scope {self.lora_cfg.scope}); nothing would train "
                    f"({str(e).splitlines()[0][:160]})",
                ) from None
        else:  # full fine-tuning of the language model (+ lm_head), vision tower frozen
            for name, p in model.named_parameters():
                if self.family.language_model_pattern in name or name.startswith("lm_head"):
                    p.requires_grad_(True)
            if cfg.train_projector:
                for name, p in model.named_parameters():
                    if any(f".{m}." in f".{name}" for m in self.family.projector_modules):
                        p.requires_grad_(True)
        if cfg.upcast_trainable:
            for p in model.parameters():
                if p.requires_grad and p.dtype != torch.float32:
                    p.data = p.data.float()
        if cfg.vision_no_grad:
            detach_frozen_vision(model, self.family)
        if cfg.vision_attention == "batched":
            batch_vision_attention(model)
        if cfg.compile:
            for layer in decoder_layers(model):
                layer.compile()
        model.train()  # from_pretrained returns eval mode; Lightning keeps the mode it finds
        n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
        n_all = sum(p.numel() for p in model.parameters())
        if n_train == 0:
            raise ConfigError(
                "lora.target_modules",
                f"no module of {cfg.path!r} matched {self.lora_cfg.target_modules}; nothing would train",
            )
        log.info("%s: %d trainable / %d parameters (%.3f%%)", cfg.path, n_train, n_all, 100 * n_train / n_all)
        return model

    def trainable_parameter_names(self) -> list[str]:
        return [n for n, p in self.named_parameters() if p.requires_grad]

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """Move only the model tensors; meta (plain values, SampleRefs) and lists of Samples (validation)
        stay as they are."""
        if isinstance(batch, dict):
            return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        return batch

    def forward(self, **inputs: Any) -> Any:
        return self.model(**inputs)

    # --------------------------------------------------------------- training ---------------------------
    def plan_memory(self, batch: dict[str, Any]) -> Optional[MemoryPlan]:
        """`gradient_checkpointing: auto`, decided once, on the first batch (its token count)."""
        if self.model_cfg.gradient_checkpointing != "auto" or self.memory_plan is not None:
            return self.memory_plan
        labelled = int(batch["loss_targets"].numel()) if "loss_targets" in batch else int(batch["input_ids"].numel())
        plan = plan_checkpointing(self.model, int(batch["input_ids"].numel()), labelled, device_budget(self.device))
        apply_checkpointing(self.model, plan.checkpointed_layers)
        log.info("%s", plan.describe())
        self.memory_plan = plan
        return plan

    def training_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        self.plan_memory(batch)
        return training_loss(self.model, batch, labelled_only=self.model_cfg.labelled_loss)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.training_loss(batch)
        # reading the loss waits for the GPU: once per logging interval, not every micro-batch
        trainer = getattr(self, "_trainer", None)
        every = max(1, int(getattr(trainer, "log_every_n_steps", 1) or 1))
        if self.global_step % every == 0 and self.global_step != self._logged_step:
            self._logged_step = self.global_step
            self.log("train/loss", float(loss.detach()), prog_bar=True, batch_size=int(batch["input_ids"].shape[0]))
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        o = self.optim_cfg
        projector_names = self.family.projector_modules
        decay, no_decay, proj = [], [], []
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if o.projector_lr is not None and any(f".{m}." in f".{name}." for m in projector_names):
                proj.append(p)
            elif p.ndim < 2:
                no_decay.append(p)
            else:
                decay.append(p)
        groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if proj:
            groups.append({"params": proj, "weight_decay": o.weight_decay, "lr": o.projector_lr})
        groups = [g for g in groups if g["params"]]
        # one multi-tensor kernel instead of ~9 ops per parameter tensor (CUDA and CPU both have it)
        fused = (
            o.fused
            if o.fused is not None
            else all(p.device.type in ("cuda", "cpu") for g in groups for p in g["params"])
        )
        optimizer = torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, eps=o.eps, fused=fused)
        total = self._total_steps()
        warmup = o.warmup_steps if o.warmup_steps is not None else int(round(o.warmup_ratio * total))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(warmup, total, o.min_lr_ratio))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}

    def _total_steps(self) -> int:
        if self.optim_cfg.total_steps:
            return self.optim_cfg.total_steps
        trainer = getattr(self, "_trainer", None)
        if trainer is not None and trainer.max_steps and trainer.max_steps > 0:
            return int(trainer.max_steps)
        raise ConfigError(
            "optim.total_steps",
            "set optim.total_steps or trainer.max_steps (a stream has no length, so train by steps)",
        )

    # ------------------------------------------------------------- generation ---------------------------
    @torch.no_grad()
    def generate_answers(self, samples: Sequence[Sample], max_new_tokens: Optional[int] = None) -> list[str]:
        """Greedy answers (decoded, special tokens dropped, stripped) for a list of samples."""
        return greedy_answers(
            self.model,
            self.processor,
            self.collator,
            self.family,
            samples,
            max_new_tokens or self.max_new_tokens,
            self.device,
        )

    # ------------------------------------------------------------- validation ---------------------------
    def on_validation_epoch_start(self) -> None:
        self._val_records = []

    def validation_step(self, batch: Sequence[Sample], batch_idx: int) -> None:
        t0 = time.perf_counter()
        preds = self.generate_answers(batch)
        for s, p in zip(batch, preds):
            self._val_records.append({"qa": s.qa, "id": str(s.sample_id), "prediction": p})
        self.log("val/generate_s_per_sample", (time.perf_counter() - t0) / max(1, len(batch)), batch_size=len(batch))

    def on_validation_epoch_end(self) -> None:
        records = _gather_records(self._val_records)
        if not records:
            return
        report = evaluate_records(records)
        self.last_eval = report
        for row in report.rows:
            self.log(f"val/{row.key}", row.score)
        if report.rel_direction is not None:
            self.log("val/rel_direction", report.rel_direction)
        self.log("val/overall", report.overall, prog_bar=True)

    # ------------------------------------------------------------- checkpoints --------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.model_cfg.checkpoint_trainable_only:
            keep = set(self.trainable_parameter_names())
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A trainable-only checkpoint: the frozen weights come from model.path (already loaded), so
        complete the state dict with them and keep strict loading for everything else."""
        if self.model_cfg.checkpoint_trainable_only:
            sd = checkpoint["state_dict"]
            for k, v in self.state_dict().items():
                sd.setdefault(k, v)

    def save_pretrained(self, out_dir: str, merge: bool = False) -> None:
        """Adapter (or merged full model with merge=True) + processor, loadable with from_pretrained."""
        model = self.model
        if merge and hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
        model.save_pretrained(out_dir)
        self.processor.save_pretrained(out_dir)


@torch.no_grad()
def greedy_answers(
    model: torch.nn.Module,
    processor: Any,
    collator: VideoQACollator,
    family: Family,
    samples: Sequence[Sample],
    max_new_tokens: int,
    device: Any = None,
) -> list[str]:
    """Greedy generation (left-padded prompt batch, stop at the family's end-of-turn token)."""
    if not samples:
        return []
    batch = collator.generation_batch(samples)
    device = device if device is not None else next(model.parameters()).device
    inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in model_inputs(batch).items()}
    tok = processor.tokenizer
    eos = [tok.convert_tokens_to_ids(family.end_of_turn)]
    if tok.eos_token_id is not None and tok.eos_token_id not in eos:
        eos.append(tok.eos_token_id)
    was_training = model.training
    model.eval()
    try:
        out = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=eos,
            pad_token_id=collator.pad_token_id,
        )
    finally:
        model.train(was_training)
    new = out[:, inputs["input_ids"].shape[1] :]
    return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]


def _gather_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Under DDP every rank validated a shard (the DistributedSampler pads with repeats): gather all
    ranks' records, one per id."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return records
    world = torch.distributed.get_world_size()
    if world == 1:
        return records
    parts: list[Any] = [None] * world
    torch.distributed.all_gather_object(parts, records)
    seen: dict[str, dict[str, Any]] = {}
    for part in parts:
        for r in part or []:
            seen.setdefault(r["id"], r)
    return list(seen.values())


def evaluate_records(records: Sequence[dict[str, Any]]) -> Any:
    """[{id, qa: QA, prediction}] -> simsv_stream.eval.Report (VSI-Bench per-type table)."""
    from simsv_stream.eval import Reference, evaluate

    refs = []
    for r in records:
        qa = r["qa"]
        answer = str(qa.answer).strip() if qa.answer_mode == "mc" else float(qa.ground_truth)
        refs.append(
            Reference(
                r["id"],
                qa.question_type,
                qa.answer_mode,
                answer,
                tuple(qa.options) if qa.options else None,
                qa.question,
            )
        )
    return evaluate(refs, {r["id"]: r["prediction"] for r in records})


def cosine_with_warmup(warmup: int, total: int, min_ratio: float = 0.0):
    """lr multiplier: linear 0→1 over `warmup` steps, then cosine 1→min_ratio until `total`."""
    warmup = max(0, int(warmup))
    total = max(1, int(total))

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f
