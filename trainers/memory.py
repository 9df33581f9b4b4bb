"""`gradient_checkpointing: auto`: checkpoint only as many decoder layers as the device needs.

Checkpointing trades ~a third more decoder compute (every checkpointed layer runs its forward twice) for
memory, so it should be on only when the step would not fit. The estimate, per batch:

    weights (all parameters, their dtype) + 16 B per trainable parameter (fp32 copy, grad, two AdamW
    moments) + saved decoder activations (text tokens x layers x bytes x (8 h + 2 h_kv + 4 i):
    the inputs of q/k/v/o and gate/up/down, rotary q/k, attention output, norms and residuals, the
    SwiGLU intermediates) + fp32 logits at the labelled positions + a fixed reserve for the vision
    forward, allocator fragmentation and the CUDA context.

On the device budget (90 % of its memory) this picks no checkpointing, or the fewest decoder layers whose
checkpointing brings the estimate under it (a checkpointed layer keeps only its input, h per token).
The decision is made on the first training batch, when the token count is known, and logged. The
estimate errs high (every saved tensor counted at full size); `bench step` reports the measured peak.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import torch

log = logging.getLogger(__name__)

RESERVE_BYTES = 3 * 2**30  # vision forward working set, fragmentation, CUDA context and kernels
BUDGET_FRACTION = 0.9


@dataclass(frozen=True)
class MemoryPlan:
    estimate_bytes: float  # the step without checkpointing
    budget_bytes: Optional[float]  # None: no limit known (CPU)
    checkpointed_layers: int  # decoder layers to checkpoint (0: off)
    total_layers: int

    def describe(self) -> str:
        budget = "no device limit" if self.budget_bytes is None else f"budget {self.budget_bytes / 2**30:.1f} GiB"
        what = (
            "off" if self.checkpointed_layers == 0 else f"{self.checkpointed_layers}/{self.total_layers} decoder layers"
        )
        return f"gradient checkpointing {what} (estimated {self.estimate_bytes / 2**30:.1f} GiB without, {budget})"


def text_config(model: Any) -> Any:
    cfg = getattr(model, "config", None)
    return getattr(cfg, "text_config", None) or cfg


def decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The language model's decoder layers (the GradientCheckpointingLayers outside the vision tower)."""
    from transformers.modeling_layers import GradientCheckpointingLayer

    return [m for n, m in model.named_modules() if isinstance(m, GradientCheckpointingLayer) and "language_model" in n]


def activation_bytes_per_token_layer(cfg: Any, dtype_bytes: int) -> float:
    h, i = int(cfg.hidden_size), int(cfg.intermediate_size)
    kv = h * int(getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads) // int(cfg.num_attention_heads)
    return float(dtype_bytes * (8 * h + 2 * kv + 4 * i))


def _dtype_bytes(model: torch.nn.Module) -> int:
    return 2 if next(model.parameters()).dtype in (torch.bfloat16, torch.float16) else 4


def estimate_step_bytes(model: torch.nn.Module, text_tokens: int, labelled_tokens: int) -> float:
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    cfg = text_config(model)
    dtype_bytes = _dtype_bytes(model)
    acts = text_tokens * int(cfg.num_hidden_layers) * activation_bytes_per_token_layer(cfg, dtype_bytes)
    logits = labelled_tokens * int(cfg.vocab_size) * 4 * 2  # fp32 logits and their gradient
    return weights + 16 * trainable + acts + logits + RESERVE_BYTES


def plan_checkpointing(
    model: torch.nn.Module, text_tokens: int, labelled_tokens: int, budget_bytes: Optional[float]
) -> MemoryPlan:
    cfg = text_config(model)
    layers = int(cfg.num_hidden_layers)
    est = estimate_step_bytes(model, text_tokens, labelled_tokens)
    if budget_bytes is None or est <= budget_bytes:
        return MemoryPlan(est, budget_bytes, 0, layers)
    dtype_bytes = _dtype_bytes(model)
    per_layer = text_tokens * activation_bytes_per_token_layer(cfg, dtype_bytes)
    kept_input = text_tokens * int(cfg.hidden_size) * dtype_bytes
    saved_per_checkpointed = per_layer - kept_input
    need = est - budget_bytes
    n = min(layers, int(-(-need // max(1.0, saved_per_checkpointed))))
    return MemoryPlan(est, budget_bytes, n, layers)


def device_budget(device: torch.device) -> Optional[float]:
    if device.type != "cuda":
        return None
    return BUDGET_FRACTION * torch.cuda.get_device_properties(device).total_memory


def checkpointing_enable(model: Any) -> None:
    """Non-reentrant checkpointing of every layer (transformers >= 5.25 renamed the method)."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def apply_checkpointing(model: Any, layers: int) -> None:
    """Checkpoint the first `layers` decoder layers (non-reentrant); the others, and the vision tower
    (frozen: no graph to save), keep their activations."""
    if layers <= 0:
        return
    checkpointing_enable(model)
    from transformers.modeling_layers import GradientCheckpointingLayer

    chosen = {id(m) for m in decoder_layers(model)[:layers]}
    for m in model.modules():
        if isinstance(m, GradientCheckpointingLayer):
            m.gradient_checkpointing = id(m) in chosen
