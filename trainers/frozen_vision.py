"""Keep a frozen vision encoder out of autograd.

With no vision weight training, the vision forward needs no graph: nothing upstream of it wants a
gradient. It gets one anyway: transformers' `enable_input_require_grads` (called by
`gradient_checkpointing_enable` and by peft for adapters) hooks every sub-model's input embeddings, and
Qwen2.5-VL's vision model declares `patch_embed` as its input embeddings. So all 32 vision blocks were
checkpointed, recomputed and backpropagated, about half of a LoRA step's host ops, for no gradient.

`no_grad_frozen_vision` wraps the forward of every frozen part of the vision encoder (the whole encoder
when nothing in it trains) so that it runs under `torch.no_grad()` unless one of its inputs is fed by
the graph of something trainable (a tensor with a grad_fn). That keeps gradients exact wherever a
trainable part sits upstream (LoRA with scope `all` on the vision blocks: a later block's frozen norm
and MLP still pass the gradient back to the earlier blocks' adapters), while Qwen's patch embedding and
blocks run without a graph in front of a trainable merger. A leaf that merely requires grad, which the
input-grad hooks make of the patch embedding's output, is fed by nothing trainable, so it does not
count.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from .families import Family


def _trains(module: torch.nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def _fed_by_graph(x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return x.grad_fn is not None
    if isinstance(x, (tuple, list)):
        return any(_fed_by_graph(v) for v in x)
    if isinstance(x, dict):
        return any(_fed_by_graph(v) for v in x.values())
    return False


def _no_grad_unless_fed(forward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(forward)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _fed_by_graph(args) or _fed_by_graph(kwargs):
            return forward(*args, **kwargs)
        with torch.no_grad():
            return forward(*args, **kwargs)

    return run


def _wrap_frozen(module: torch.nn.Module, wrapped: list[str], name: str) -> None:
    is_container = isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict, torch.nn.Sequential))
    # a module without weights saves no graph of its own: left as it is
    has_weights = next(module.parameters(), None) is not None
    if has_weights and not _trains(module) and not is_container:
        module.forward = _no_grad_unless_fed(module.forward)
        wrapped.append(name)
        return
    for child_name, child in module.named_children():
        _wrap_frozen(child, wrapped, f"{name}.{child_name}")


def vision_encoders(model: torch.nn.Module, family: Family) -> list[tuple[str, torch.nn.Module]]:
    """The family's vision encoder module(s), outermost match only (peft wraps names in base_model.model)."""
    found: list[tuple[str, torch.nn.Module]] = []
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] in family.vision_modules and not any(name.startswith(f"{n}.") for n, _ in found):
            found.append((name, module))
    return found


def no_grad_frozen_vision(model: torch.nn.Module, family: Family) -> list[str]:
    """Wrap the frozen parts of the vision encoder; returns the wrapped module names."""
    wrapped: list[str] = []
    for name, encoder in vision_encoders(model, family):
        _wrap_frozen(encoder, wrapped, name)
    return wrapped
