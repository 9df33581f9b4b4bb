"""The training step's speed fixes, on a structure model: Qwen2.5-VL's real vision depth and window
layout (32 blocks, full attention at 7/15/23/31, window 112 px, patch 14) and 28 decoder layers, at tiny
widths. Counts are derived from the architecture and the batch's grid, not recorded numbers.

- a frozen vision tower runs once, outside autograd: no gradient, no backward, no recompute;
- batched window attention equals transformers' per-window reference (windows equal and ragged);
- the labelled-position loss equals the full shifted loss;
- `bench step` counts one attention call per vision block (+ forward and backward per decoder layer),
  where the old step made one per window, and at most half the aten ops;
- `gradient_checkpointing: auto` plans layers only when the estimate exceeds the budget.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import torch

from simsv_stream.benchmarks.step import make_samples, raw_config, run_step_bench
from trainers.collate import VideoQACollator, labelled_positions
from trainers.frozen_vision import vision_encoders
from trainers.loss import answer_loss
from trainers.memory import plan_checkpointing
from trainers.module import VideoVLMModule
from trainers.run_config import build_run_config
from trainers.tiny_model import build_tiny_model, cached_tiny_model
from trainers.vision_attention import WindowLayout, batch_vision_attention, windowed_attention

ROOT = Path(__file__).resolve().parents[1]
FRAMES, SIDE = 4, 224  # 2 temporal patches x (16 x 16) patches each; 4 windows of 64 patches per slice


@pytest.fixture(scope="module")
def structure(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("structure") / "qwen25vl"
    return build_tiny_model(
        out, family="qwen2_5_vl", vision="full", vision_hidden=64, layers=28, frame_side=SIDE, overwrite=True
    )


def _raw(model: Path, **over) -> dict:
    raw = raw_config(None, str(model), [], batch=2, frames=FRAMES, size=f"{SIDE}x{SIDE}", device="cpu")
    raw["mix"] = {"abs_distance": 1, "object_count": 1}
    raw["scales"]["rooms"] = 1
    for k, v in over.items():
        section, key = k.split("__")
        raw.setdefault(section, {})[key] = v
    return raw


@pytest.fixture(scope="module")
def batch(structure) -> dict:
    rc = build_run_config(_raw(structure))
    from simsv_stream.stream.config import StreamConfig

    stream = StreamConfig.from_dict(dict(rc.stream), scales=rc.scales, mix=rc.mix)
    module = VideoVLMModule(rc.model, rc.lora, rc.optim, rc.data)
    samples = make_samples(stream, 2)
    return module.collator.collate([module.collator.encode(s) for s in samples])


def _module(structure: Path, **model) -> VideoVLMModule:
    rc = build_run_config(_raw(structure, **{f"model__{k}": v for k, v in model.items()}))
    return VideoVLMModule(rc.model, rc.lora, rc.optim, rc.data)


def _vision_blocks(module: VideoVLMModule) -> list[torch.nn.Module]:
    ((_, visual),) = vision_encoders(module.model, module.family)
    return list(visual.blocks)


def _run_step(module: VideoVLMModule, batch: dict) -> dict[str, int]:
    blocks = _vision_blocks(module)
    calls = {"forward": 0, "backward": 0}
    # hooked on the attention inside each block: a checkpointed block's recompute calls its forward
    # directly (the block's own hooks fire once), but the modules inside run again
    hooks = [
        b.attn.register_forward_hook(lambda *a: calls.__setitem__("forward", calls["forward"] + 1)) for b in blocks
    ]
    hooks += [
        b.register_full_backward_hook(lambda *a: calls.__setitem__("backward", calls["backward"] + 1)) for b in blocks
    ]
    try:
        module.training_loss(batch).backward()
    finally:
        for h in hooks:
            h.remove()
    return calls


@pytest.mark.parametrize("checkpointing", ["auto", True])
def test_frozen_vision_runs_once_without_graph(structure, batch, checkpointing):
    module = _module(structure, gradient_checkpointing=checkpointing)
    calls = _run_step(module, batch)
    depth = len(_vision_blocks(module))
    assert depth == 32
    assert calls == {"forward": depth, "backward": 0}  # no recompute, no backward
    ((_, visual),) = vision_encoders(module.model, module.family)
    assert all(p.grad is None for p in visual.parameters())
    lora = [p for n, p in module.model.named_parameters() if "lora_" in n]
    assert lora and any(p.grad is not None and p.grad.abs().sum() > 0 for p in lora)


def test_without_the_fix_the_vision_tower_is_backpropagated(structure, batch):
    # the fault the fix removes, reproduced: checkpointing's input-grad hooks put the blocks in autograd
    module = _module(structure, vision_no_grad=False, gradient_checkpointing=True)
    calls = _run_step(module, batch)
    assert calls["backward"] == 32 and calls["forward"] == 2 * 32  # forward + recompute


@pytest.mark.parametrize("checkpointing", ["auto", True])
def test_trainable_merger_keeps_its_gradient(structure, batch, checkpointing):
    module = _module(structure, train_projector=True, gradient_checkpointing=checkpointing)
    assert _run_step(module, batch)["backward"] == 0  # the blocks in front of the merger: no graph
    ((_, visual),) = vision_encoders(module.model, module.family)
    merger = [p for n, p in visual.named_parameters() if "merger" in n and p.requires_grad]
    assert merger and all(p.grad is not None for p in merger)
    assert all(p.grad is None for n, p in visual.named_parameters() if "blocks" in n)


def test_lora_on_vision_blocks_gets_exact_gradients(structure, batch):
    # adapters on every vision block (scope all): a later block's frozen norm and MLP sit downstream of an
    # earlier block's adapter, so they must still pass its gradient back
    lora = {"scope": "all", "target_modules": ["qkv", "q_proj", "v_proj"], "r": 4, "alpha": 8}
    grads = []
    for no_grad in (True, False):
        rc = build_run_config(
            {**_raw(structure), "lora": lora, "model": {"path": str(structure), "vision_no_grad": no_grad}}
        )
        torch.manual_seed(0)
        module = VideoVLMModule(rc.model, rc.lora, rc.optim, rc.data)
        for n, p in module.model.named_parameters():  # lora_B starts at zero: give every adapter a path
            if "lora_B" in n:
                torch.nn.init.normal_(p, std=0.02, generator=torch.Generator().manual_seed(zlib.crc32(n.encode())))
        module.training_loss(batch).backward()
        grads.append({n: p.grad for n, p in module.model.named_parameters() if p.requires_grad})
    fast, ref = grads
    assert any(".visual.blocks.0." in n for n in fast)
    assert fast.keys() == ref.keys()
    for n in ref:
        assert fast[n] is not None and ref[n] is not None, f"{n} got no gradient"
        torch.testing.assert_close(fast[n], ref[n], rtol=1e-4, atol=1e-6, msg=n)


@pytest.mark.parametrize("lengths", [(64, 64, 64, 64), (64, 16, 48, 64, 8)], ids=["equal", "ragged"])
def test_windowed_attention_equals_per_window(lengths):
    g = torch.Generator().manual_seed(0)
    seq, heads, dim = sum(lengths), 4, 16
    q, k, v = (torch.randn(seq, heads, dim, generator=g) for _ in range(3))
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    out = windowed_attention(q, k, v, WindowLayout.from_cu_seqlens(cu), cu, dim**-0.5)
    ref = []
    for a, b in zip(cu[:-1].tolist(), cu[1:].tolist()):  # one softmax per window, written out
        w = torch.softmax((q[a:b].transpose(0, 1) @ k[a:b].permute(1, 2, 0)) * dim**-0.5, dim=-1)
        ref.append((w @ v[a:b].transpose(0, 1)).transpose(0, 1))
    torch.testing.assert_close(out, torch.cat(ref), rtol=1e-5, atol=1e-5)


def test_batched_vision_tower_equals_transformers(structure, batch):
    from transformers import AutoModelForImageTextToText

    ref = AutoModelForImageTextToText.from_pretrained(str(structure), dtype=torch.float32).eval()
    fast = AutoModelForImageTextToText.from_pretrained(str(structure), dtype=torch.float32).eval()
    assert batch_vision_attention(fast) == 32
    pv, grid = batch["pixel_values_videos"], batch["video_grid_thw"]
    with torch.no_grad():
        a = ref.model.visual(pv, grid_thw=grid).pooler_output
        b = fast.model.visual(pv, grid_thw=grid).pooler_output
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    # a frame size whose windows are ragged (patch grid 10 x 14: windows of 4x4, 4x3, 1x4 and 1x3 merged units)
    pv2 = torch.randn(2 * 10 * 14, pv.shape[1])
    grid2 = torch.tensor([[1, 10, 14], [1, 10, 14]])
    with torch.no_grad():
        torch.testing.assert_close(
            fast.model.visual(pv2, grid_thw=grid2).pooler_output,
            ref.model.visual(pv2, grid_thw=grid2).pooler_output,
            rtol=1e-4,
            atol=1e-5,
        )


def test_labelled_loss_equals_full_loss(structure, batch):
    module = _module(structure)
    model = module.model
    inputs = {k: v for k, v in batch.items() if k not in ("meta", "loss_positions", "loss_targets")}
    with torch.no_grad():
        full = model(**inputs, use_cache=False)
        fast = module.training_loss(batch)
    torch.testing.assert_close(fast, full.loss, rtol=1e-5, atol=1e-6)
    # and against a loss computed here: shifted cross-entropy over every labelled next token
    labels = batch["labels"]
    logits = full.logits[:, :-1]
    keep = labels[:, 1:] != -100
    manual = torch.nn.functional.cross_entropy(logits[keep].float(), labels[:, 1:][keep])
    torch.testing.assert_close(fast, manual, rtol=1e-5, atol=1e-6)
    pos, tgt = labelled_positions(labels)
    assert pos.numel() < labels.shape[1] // 4  # the head runs on a small fraction of positions
    assert int((tgt != -100).sum()) == int(keep.sum())
    torch.testing.assert_close(answer_loss(full.logits[:, pos], tgt), manual, rtol=1e-5, atol=1e-6)


def _expected_window_calls(grid: torch.Tensor, window_merged: int = 4, merge: int = 2) -> tuple[int, int]:
    """Per vision forward: attention calls of transformers' per-window path in a window block and in a
    full-attention block, from the batch's (t, h, w) patch grid."""
    windows = slices = 0
    for t, h, w in grid.tolist():
        windows += t * math.ceil(h / merge / window_merged) * math.ceil(w / merge / window_merged)
        slices += t
    return windows, slices


def test_bench_step_counts(structure, batch):
    results = run_step_bench(_raw(structure), ["fast", "legacy"], reps=1, warmup=0, progress=False)
    fast, legacy = results
    vision_depth, full_blocks, layers = 32, 4, 28
    # one call per vision block; decoder attention forward + backward per layer
    assert fast.sdpa_calls_per_step == vision_depth + 2 * layers
    windows, slices = _expected_window_calls(batch["video_grid_thw"])
    per_forward = (vision_depth - full_blocks) * windows + full_blocks * slices
    # the old step: per-window calls in the vision forward, its recompute and its backward; decoder
    # forward, recompute and backward
    assert legacy.sdpa_calls_per_step == 3 * per_forward + 3 * layers
    assert fast.aten_ops_per_step <= 0.5 * legacy.aten_ops_per_step
    assert fast.vision_patches == int(batch["pixel_values_videos"].shape[0])
    assert fast.useful_flop > 0 and fast.mfu is None and legacy.mfu is None


def test_bench_step_json_cli(tmp_path_factory, tmp_path):
    tiny = cached_tiny_model(tmp_path_factory.getbasetemp(), "qwen2_vl")
    saved = tmp_path / "step.json"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simsv_stream.cli",
            "bench",
            "step",
            "--model",
            str(tiny),
            "--device",
            "cpu",
            "--frames",
            "4",
            "--size",
            "64x64",
            "--batch",
            "2",
            "--reps",
            "2",
            "--warmup",
            "1",
            "--json",
            "--out",
            str(saved),
            "mix={abs_distance: 1}",
            "scales.rooms=1",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    d = json.loads(out.stdout.strip().splitlines()[-1])
    for key in (
        "ms_median",
        "samples_per_s",
        "aten_ops_per_step",
        "sdpa_calls_per_step",
        "useful_flop",
        "mfu",
        "peak_mem_gb",
    ):
        assert key in d, key
    assert d["ms_median"] > 0 and d["aten_ops_per_step"] > 0 and d["sdpa_calls_per_step"] > 0
    assert d["mfu"] is None and d["useful_flop"] > 0 and "fast" in d["variants"]
    assert json.loads(saved.read_text())["aten_ops_per_step"] == d["aten_ops_per_step"]
    assert saved.with_suffix(".png").stat().st_size > 0


def test_checkpointing_auto_plans_only_what_does_not_fit(structure):
    module = _module(structure)
    model = module.model
    free = plan_checkpointing(model, text_tokens=2000, labelled_tokens=20, budget_bytes=None)
    assert free.checkpointed_layers == 0
    roomy = plan_checkpointing(model, text_tokens=2000, labelled_tokens=20, budget_bytes=free.estimate_bytes * 2)
    assert roomy.checkpointed_layers == 0
    tight = plan_checkpointing(model, text_tokens=200_000, labelled_tokens=20, budget_bytes=free.estimate_bytes)
    assert 0 < tight.checkpointed_layers <= 28
    tighter = plan_checkpointing(model, text_tokens=400_000, labelled_tokens=20, budget_bytes=free.estimate_bytes)
    assert tighter.checkpointed_layers >= tight.checkpointed_layers


def test_collator_without_labels_has_no_loss_positions(structure):
    rc = build_run_config(_raw(structure))
    module = VideoVLMModule(rc.model, rc.lora, rc.optim, rc.data)
    collator: VideoQACollator = module.collator
    from simsv_stream.stream.config import StreamConfig

    stream = StreamConfig.from_dict(dict(rc.stream), scales=rc.scales, mix=rc.mix)
    gen = collator.generation_batch(make_samples(stream, 1))
    assert "loss_positions" not in gen and "labels" not in gen
