"""Keep a frozen vision encoder out of autograd.

With no vision weight training, the vision forward needs no graph: nothing in it or upstream of it
wants a gradient, so autograd records nothing there on its own. It records everything anyway:
transformers' `enable_input_require_grads` (called when gradient checkpointing is enabled with an
adapter, and by peft's `prepare_model_for_gradient_checkpointing`) hooks every sub-model's input
embeddings to mark their output as requiring grad, and Qwen2.5-VL's vision model declares `patch_embed`
as its input embeddings (SigLIP its patch embedding). From that marked tensor on, all 32 vision blocks
were checkpointed, recomputed and backpropagated, about half of a LoRA step's host ops, for a gradient
that reaches no parameter.

`detach_frozen_vision` takes those hooks off the vision encoder and makes it report no input
embeddings, so a later `enable_input_require_grads` (gradient checkpointing turned on by `auto` at the
first batch) skips it. Autograd itself is left alone, so gradients are exact by construction: a trainable
part of the encoder (Qwen's merger as the projector, LoRA with scope `all` on vision blocks) records its
graph as usual, and everything upstream of it that only sees frozen weights and pixels records none.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel

from .families import Family


def vision_encoders(model: torch.nn.Module, family: Family) -> list[tuple[str, torch.nn.Module]]:
    """The family's vision encoder module(s), outermost match only (peft wraps names in base_model.model)."""
    found: list[tuple[str, torch.nn.Module]] = []
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] in family.vision_modules and not any(name.startswith(f"{n}.") for n, _ in found):
            found.append((name, module))
    return found


def _no_input_embeddings() -> None:
    return None


def detach_frozen_vision(model: torch.nn.Module, family: Family) -> int:
    """Remove the input-grad hooks (transformers' and peft's) inside the vision encoder and keep new
    ones out; returns how many hooks were removed."""
    removed = 0
    for _, encoder in vision_encoders(model, family):
        for m in encoder.modules():
            for key, hook in list(m._forward_hooks.items()):
                if getattr(hook, "__name__", "").startswith("make_inputs_require_grad"):
                    del m._forward_hooks[key]
                    removed += 1
            if isinstance(m, PreTrainedModel):
                m.get_input_embeddings = _no_input_embeddings
    return removed
