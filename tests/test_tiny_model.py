"""Tiny offline models: build, save, load through from_pretrained, tokenizer coverage, CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from simsv_stream.errors import ConfigError
from trainers.families import FAMILIES, family_for_model_type
from trainers.processing import load_processor, torchvision_available

FAMILY_NAMES = ["qwen2_vl", "qwen2_5_vl", "llava_onevision"]  # tiny architectures


def tiny_dir(tmp_path_factory: pytest.TempPathFactory, family: str) -> Path:
    """One tiny model per family per test session (shared across test modules via the base temp dir)."""
    from trainers.tiny_model import cached_tiny_model

    return cached_tiny_model(tmp_path_factory.getbasetemp(), family)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_tiny_model_saves_and_loads_with_from_pretrained(tmp_path_factory, family):
    from transformers import AutoModelForImageTextToText

    d = tiny_dir(tmp_path_factory, family)
    names = {p.name for p in d.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
    } <= names
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["model_type"] == family
    fam = family_for_model_type(cfg["model_type"])

    model = AutoModelForImageTextToText.from_pretrained(d, local_files_only=True)
    assert type(model).__name__ == cfg["architectures"][0]
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < 1_000_000  # tiny: CPU tests stay fast

    proc = load_processor(str(d))
    tok = proc.tokenizer
    assert tok.convert_tokens_to_ids(fam.video_token) == model.config.video_token_id
    assert tok.convert_tokens_to_ids(fam.end_of_turn) in model.generation_config.eos_token_id
    # the family's chat template puts the video placeholder in the user turn
    text = proc.apply_chat_template(
        [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "How many chair(s)?"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert fam.video_token in text and text.endswith("<|im_start|>assistant\n")

    # a forward pass with a real video through the processor gives a finite loss
    video = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    inputs = proc(text=[text], videos=[video], return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, labels=inputs["input_ids"])
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_save_pretrained_roundtrip_keeps_weights(tmp_path_factory, tmp_path, family):
    from transformers import AutoModelForImageTextToText

    d = tiny_dir(tmp_path_factory, family)
    model = AutoModelForImageTextToText.from_pretrained(d)
    model.save_pretrained(tmp_path / "copy")
    load_processor(str(d)).save_pretrained(tmp_path / "copy")
    again = AutoModelForImageTextToText.from_pretrained(tmp_path / "copy")
    a, b = model.state_dict(), again.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_processor(str(tmp_path / "copy")).tokenizer.get_vocab() == load_processor(str(d)).tokenizer.get_vocab()


@pytest.mark.skipif(not torchvision_available(), reason="stock video processors need torchvision")
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_autoprocessor_loads_tiny_dir_and_matches_torch_only_video_processor(tmp_path_factory, family):
    from transformers import AutoProcessor

    from trainers.processing import _load_processor_without_torchvision

    d = tiny_dir(tmp_path_factory, family)
    hf = AutoProcessor.from_pretrained(d)
    ours = _load_processor_without_torchvision(str(d), family_for_model_type(family))
    video = np.random.default_rng(1).integers(0, 256, (6, 40, 56, 3), dtype=np.uint8)
    a, b = hf.video_processor([video], return_tensors="pt"), ours.video_processor([video], return_tensors="pt")
    for k in a:
        torch.testing.assert_close(torch.as_tensor(a[k]).float(), torch.as_tensor(b[k]).float(), atol=2e-2, rtol=0)


def test_tokenizer_covers_any_answer(tmp_path_factory):
    tok = load_processor(str(tiny_dir(tmp_path_factory, "qwen2_vl"))).tokenizer
    for s in ["B", "3.7", "12", "B. sofa", "front-left", "turn back", "0.05", "Zebra ünïcode 日本 ✓", "  x  "]:
        ids = tok(s, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == s
    # template words are whole tokens (trained on the question corpus), not byte soup
    assert len(tok("Measuring from the closest point of each object", add_special_tokens=False)["input_ids"]) <= 12


def test_build_is_seeded(tmp_path):
    from trainers.tiny_model import build_tiny_model

    def digest(p: Path) -> str:
        return hashlib.sha256((p / "model.safetensors").read_bytes() + (p / "tokenizer.json").read_bytes()).hexdigest()

    a = build_tiny_model(tmp_path / "a", family="qwen2_vl", seed=3, hidden=16, layers=1)
    b = build_tiny_model(tmp_path / "b", family="qwen2_vl", seed=3, hidden=16, layers=1)
    assert digest(a) == digest(b)


def test_build_rejects_bad_input(tmp_path):
    from trainers.tiny_model import build_tiny_model

    assert FAMILIES["qwen2_vl"].model_types == ("qwen2_vl", "qwen2_5_vl")
    with pytest.raises(ConfigError, match="model.family: unknown family 'bert'"):
        build_tiny_model(tmp_path / "x", family="bert")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        build_tiny_model(tmp_path / "full", family="qwen2_vl")


def test_cli_make_tiny_model(tmp_path, capsys):
    from simsv_stream.cli import main

    out = tmp_path / "m"
    assert main(["make-tiny-model", str(out), "--family", "llava_onevision", "--hidden", "16", "--layers", "1"]) == 0
    assert (out / "config.json").is_file() and "written to" in capsys.readouterr().out
    assert main(["make-tiny-model", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: DIR:")


@pytest.mark.parametrize("hidden", [64, 256])
def test_initial_loss_is_near_ln_vocab_at_any_width(tmp_path, hidden):
    """The widened lm_head keeps one logit scale (std ~2.4) at every width: a fixed std 0.3 gave an
    initial loss of ~60 at hidden 1536 (logit std ~12) and memorisation in a few dozen steps."""
    import math

    from transformers import AutoModelForImageTextToText

    from trainers.tiny_model import build_tiny_model

    d = build_tiny_model(tmp_path / "m", "qwen2_5_vl", hidden=hidden, layers=1, model_vocab=4096)
    model = AutoModelForImageTextToText.from_pretrained(d, dtype=torch.float32).eval()
    vocab = model.config.get_text_config().vocab_size
    assert vocab == 4096
    w = model.lm_head.weight.detach()
    assert float(w.std()) * hidden**0.5 == pytest.approx(2.4, rel=0.05)
    ids = torch.randint(0, 800, (2, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        loss = float(model(input_ids=ids, labels=ids).loss)
    assert math.log(vocab) - 1 < loss < math.log(vocab) + 5, loss
