"""One attention call per vision block for the Qwen2-VL / Qwen2.5-VL vision towers.

Without flash_attention_2, transformers runs these blocks' attention as one SDPA call per window (per
temporal patch in the full-attention blocks) after a `lengths.tolist()` device sync in every block. At
batch 4 of 16x224^2 videos that is ~3,700 tiny calls per vision forward, each ~20-30 us of host time,
so the GPU idles.

`batch_vision_attention(model)` replaces the forward of each vision attention module with one that
reads the window layout once per distinct `cu_seqlens` (two syncs per vision forward, not one per block)
and attends to every window in a single call:
- `flash_attn` importable, CUDA, half precision: `flash_attn_varlen_func` on the packed sequence;
- all windows the same length (every window at 224^2 and 448^2 holds 64 patches, every temporal slice
  the same count): the windows become SDPA's batch dimension, a reshape and no copy;
- ragged windows (odd frame sizes): windows are gathered into a padded (n, L_max) batch with a key mask
  and scattered back, still one SDPA call.
The math is the module's own (qkv, the family's rotary embedding, scale, proj); only the batching changes,
so outputs equal the per-window reference within floating-point tolerance (tests/test_step_speed.py).
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F

# the vision attention classes of the Qwen2-VL family in transformers (same forward signature)
ATTENTION_CLASSES = ("VisionAttention", "Qwen2_5_VLVisionAttention")


@dataclass(frozen=True)
class WindowLayout:
    """Where each window of a packed (S, ...) sequence lies, read once from cu_seqlens."""

    lengths: tuple[int, ...]
    index: Optional[torch.Tensor] = None  # (n, L_max) positions into S (ragged layouts only)
    key_mask: Optional[torch.Tensor] = None  # (n, 1, 1, L_max) True where a key is real
    unpad: Optional[torch.Tensor] = None  # (S,) rows of the flattened padded output, in sequence order

    @property
    def equal(self) -> bool:
        return len(set(self.lengths)) == 1

    @property
    def max_len(self) -> int:
        return max(self.lengths)

    @classmethod
    def from_cu_seqlens(cls, cu_seqlens: torch.Tensor) -> "WindowLayout":
        bounds = cu_seqlens.tolist()  # the one host sync per layout
        lengths = tuple(int(b - a) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)
        if len(set(lengths)) <= 1:
            return cls(lengths)
        n, width, dev = len(lengths), max(lengths), cu_seqlens.device
        starts = torch.tensor([a for a, b in zip(bounds[:-1], bounds[1:]) if b > a], device=dev)
        lens = torch.tensor(lengths, device=dev)
        offs = torch.arange(width, device=dev)
        valid = offs[None, :] < lens[:, None]
        index = torch.where(valid, starts[:, None] + offs[None, :], torch.zeros_like(starts)[:, None])
        unpad = (torch.arange(n, device=dev)[:, None] * width + offs[None, :])[valid]
        return cls(lengths, index, valid[:, None, None, :], unpad)


class LayoutCache:
    """Layouts by tensor identity: every block of one forward gets the same cu_seqlens tensor objects
    (one for windows, one for full attention), so a few entries cover a forward. Holding the tensors keeps
    their ids from being reused."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._entries: list[tuple[torch.Tensor, WindowLayout]] = []

    def get(self, cu_seqlens: torch.Tensor) -> WindowLayout:
        for t, layout in self._entries:
            if t is cu_seqlens:
                return layout
        layout = WindowLayout.from_cu_seqlens(cu_seqlens)
        self._entries = [(cu_seqlens, layout)] + self._entries[: self.size - 1]
        return layout


def _flash_varlen() -> Optional[Callable[..., torch.Tensor]]:
    try:
        from flash_attn import flash_attn_varlen_func
    except Exception:  # noqa: BLE001  (absent, or built for another torch/CUDA)
        return None
    return flash_attn_varlen_func


def windowed_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: WindowLayout, cu_seqlens: torch.Tensor, scale: float
) -> torch.Tensor:
    """Block-diagonal attention over windows of a packed sequence. q, k, v: (S, H, D) -> (S, H, D)."""
    if q.is_cuda and q.dtype in (torch.float16, torch.bfloat16):
        flash = _flash_varlen()
        if flash is not None:
            cu = cu_seqlens.to(torch.int32)
            return flash(q, k, v, cu, cu, layout.max_len, layout.max_len, softmax_scale=scale, causal=False)
    seq, heads, dim = q.shape
    if layout.equal:
        n, length = len(layout.lengths), layout.lengths[0]
        q, k, v = (t.view(n, length, heads, dim).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, scale=scale)
        return out.transpose(1, 2).reshape(seq, heads, dim)
    q, k, v = (t[layout.index].transpose(1, 2) for t in (q, k, v))  # (n, H, L_max, D)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=layout.key_mask, scale=scale)
    return out.transpose(1, 2).flatten(0, 1)[layout.unpad]


def _batched_forward(cache: LayoutCache, rotary: Callable[..., Any]) -> Callable[..., torch.Tensor]:
    def forward(
        self: torch.nn.Module,
        hidden_states: torch.Tensor,
        cu_seqlens: torch.Tensor,
        position_embeddings: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        seq = hidden_states.shape[0]
        q, k, v = self.qkv(hidden_states).reshape(seq, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        cos, sin = position_embeddings
        q, k = rotary(q, k, cos, sin)
        out = windowed_attention(q, k, v, cache.get(cu_seqlens), cu_seqlens, self.scaling)
        return self.proj(out.reshape(seq, -1))

    return forward


def batch_vision_attention(model: torch.nn.Module) -> int:
    """Patch every Qwen2-VL-family vision attention module of `model`; returns how many were patched
    (0 for other families, or when the vision tower already runs flash_attention_2's varlen path)."""
    cache = LayoutCache()
    patched = 0
    for module in model.modules():
        if type(module).__name__ not in ATTENTION_CLASSES or not hasattr(module, "qkv"):
            continue
        if "flash" in str(getattr(module.config, "_attn_implementation", "") or ""):
            continue
        rotary = sys.modules[type(module).__module__].apply_rotary_pos_emb_vision
        module.forward = types.MethodType(_batched_forward(cache, rotary), module)
        patched += 1
    return patched
