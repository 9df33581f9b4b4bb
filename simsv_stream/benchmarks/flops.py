"""Useful FLOPs of a video-VLM training step, and MFU against the device's dense bf16 peak.

Useful work, per batch (what a perfect implementation must compute; recompute, padding, logits at
unlabelled positions and the optimizer are overhead, not useful work):

    vision  2 x P_vision x patches                  frozen encoder and projector: forward only (a weight
                                                    there that trains adds 4 x its parameters x patches;
                                                    Qwen's merger really runs on patches / 4, with 4x
                                                    wider inputs: the same FLOPs)
    decoder 4 x P_decoder x tokens                  forward (2) + input-gradient backward (2); the
                                                    LoRA/projector weight gradients add 2 x P_trainable x tokens
    head    4 x P_head x labelled tokens            lm_head where a label is (forward + input gradient)

P_decoder: the language model's parameters without the input embeddings (a lookup, not a matmul) and
without lm_head; tokens: the batch's real (unpadded) text tokens, video placeholders included. Attention
score FLOPs (4 x seq^2 x hidden per layer) are not counted: ~3 % at 16 x 224^2 frames. For the recorded
2.46 B Qwen2.5-VL bench model at batch 4 this gives ~2.5e13 FLOP per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, by a substring of torch.cuda.get_device_name();
# first match wins, so the more specific names come first
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("H800", 989.0),
    ("GH200", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A10G", 125.0),
    ("RTX 4090", 165.0),
    ("RTX 6000 Ada", 364.0),
)


def peak_tflops(device_name: str) -> Optional[float]:
    for key, value in PEAK_BF16_TFLOPS:
        if key in device_name:
            return value
    return None


@dataclass(frozen=True)
class StepWork:
    vision_params: int
    vision_trainable: int
    decoder_params: int
    head_params: int
    trainable_params: int
    patches: int
    tokens: int
    labelled_tokens: int

    @property
    def useful_flop(self) -> float:
        vision = 2 * self.vision_params * self.patches + 4 * self.vision_trainable * self.patches
        decoder_trainable = self.trainable_params - self.vision_trainable
        decoder = 4 * self.decoder_params * self.tokens + 2 * decoder_trainable * self.tokens
        return float(vision + decoder + 4 * self.head_params * self.labelled_tokens)


def step_work(model: torch.nn.Module, vision_names: tuple[str, ...], batch: dict[str, Any]) -> StepWork:
    """Parameter counts by part (names as in transformers' VLMs, peft-wrapped or not) and the batch's sizes.
    vision_names: the vision encoder's and the projector's module names (they run on the patches)."""
    vis = vis_train = dec = head = train = 0
    for name, p in model.named_parameters():
        parts = name.split(".")
        if "original_module" in parts:  # peft's stand-by copy of a module it trains (modules_to_save): never runs
            continue
        n = p.numel()
        train += n if p.requires_grad else 0
        if any(v in parts for v in vision_names):
            vis += n
            vis_train += n if p.requires_grad else 0
        elif "lm_head" in parts:
            head += n
        elif "embed_tokens" not in parts and "language_model" in parts:
            dec += n
    pv = batch.get("pixel_values_videos")
    patches = int(pv.shape[0]) if pv is not None and pv.ndim == 2 else 0
    if pv is not None and pv.ndim == 5:  # LLaVA-OneVision: (B, T, C, H, W) frames, patches of the encoder
        cfg = getattr(getattr(model, "config", None), "vision_config", None)
        side = int(getattr(cfg, "patch_size", 14) or 14)
        patches = int(pv.shape[0] * pv.shape[1] * (pv.shape[3] // side) * (pv.shape[4] // side))
    tokens = int(batch["attention_mask"].sum()) if "attention_mask" in batch else int(batch["input_ids"].numel())
    labels = batch.get("labels")
    labelled = int((labels[:, 1:] != -100).sum()) if labels is not None else 0
    return StepWork(vis, vis_train, dec, head, train, patches, tokens, labelled)
