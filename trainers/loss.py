"""The training loss, computed only where there is something to learn.

Only the answer span (and the end-of-turn token after it) carries labels, a few tokens of the ~700 in a
16-frame sample. transformers' own loss projects every position through `lm_head` and upcasts all of it
to fp32 (B x L x 151,936 logits: several GB and ~9 % of the step's FLOPs at batch 4), then ignores all
but those few. Here the collate step (on the CPU, off the training thread) lists the positions whose
*next* token is labelled in any row of the batch (`loss_positions`, the union over rows) with their
targets (`loss_targets`, IGNORE_INDEX where a row has no label there); the model gets them as
`logits_to_keep` and projects only those. Cross-entropy over the kept positions equals the full shifted
loss (tests/test_step_speed.py), since every other position was ignored anyway.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .collate import IGNORE_INDEX, model_inputs


def answer_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over labelled targets, in fp32 like transformers' ForCausalLMLoss."""
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten().to(logits.device), ignore_index=IGNORE_INDEX)


def training_loss(model: Any, batch: dict[str, Any], labelled_only: bool = True) -> torch.Tensor:
    """Forward + loss of one training batch (no KV cache: nothing is generated)."""
    inputs = model_inputs(batch)
    if not labelled_only or "loss_positions" not in batch:
        return model(**inputs, use_cache=False).loss
    inputs.pop("labels", None)
    out = model(**inputs, use_cache=False, logits_to_keep=batch["loss_positions"])
    return answer_loss(out.logits, batch["loss_targets"])
