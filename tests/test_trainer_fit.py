"""VideoVLMModule: real 5-step Lightning fits per family, which parameters train, checkpoints, eval,
optimizer schedule, and one-line errors for bad models."""

from __future__ import annotations

import json

import lightning as L
import pytest
import torch

from simsv_stream.errors import ConfigError
from trainers.data import SyntheticSamples
from trainers.errors import ModelNotFoundError, UnknownModelFamilyError
from trainers.families import family_for_model_type
from trainers.module import VideoVLMModule, cosine_with_warmup
from trainers.tiny_model import cached_tiny_model

FAMILY_NAMES = ["qwen2_vl", "qwen2_5_vl", "llava_onevision"]  # tiny architectures
LORA = {"r": 4, "alpha": 8, "dropout": 0.0}


def tiny_dir(tmp_path_factory, family):
    return cached_tiny_model(tmp_path_factory.getbasetemp(), family)


def _trainer(max_steps: int = 5, **kw) -> L.Trainer:
    kw = {"logger": False, "enable_checkpointing": False, **kw}
    return L.Trainer(
        max_steps=max_steps, accelerator="cpu", devices=1, enable_progress_bar=False, enable_model_summary=False, **kw
    )


def _loader(module: VideoVLMModule, seed: int = 0, n: int = 10, batch_size: int = 2):
    samples = SyntheticSamples(seed, frames=4, limit=n)
    return torch.utils.data.DataLoader(list(samples), batch_size=batch_size, collate_fn=module.collator)


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("train_projector", [False, True], ids=["frozen-projector", "train-projector"])
def test_five_step_fit_changes_only_lora_and_optionally_projector(tmp_path_factory, family, train_projector):
    m = VideoVLMModule(
        {"path": str(tiny_dir(tmp_path_factory, family)), "train_projector": train_projector},
        LORA,
        {"lr": 1e-2, "warmup_steps": 1},
    )
    before = {k: v.detach().clone() for k, v in m.model.state_dict().items()}
    losses: list[float] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            losses.append(float(outputs["loss"]))

    trainer = _trainer(callbacks=[Record()])
    trainer.fit(m, _loader(m))
    assert trainer.global_step == 5 and len(losses) == 5
    assert all(torch.isfinite(torch.tensor(losses)))

    changed = _changed(before, m.model.state_dict())
    projector = family_for_model_type(family).projector_modules[0]
    lora = {k for k in changed if ".lora_A." in k or ".lora_B." in k}
    proj = {k for k in changed if f".{projector}." in k}
    assert lora, "LoRA weights did not change"
    assert all("language_model" in k for k in lora)  # LoRA scope: the LLM only
    if train_projector:
        assert proj and all(".modules_to_save." in k for k in proj)  # the trainable copy, base untouched
        assert changed == lora | proj
    else:
        assert not proj
        assert changed == lora  # ONLY LoRA parameters changed


def test_full_finetune_trains_language_model_not_vision_tower(tmp_path_factory):
    m = VideoVLMModule(
        {"path": str(tiny_dir(tmp_path_factory, "qwen2_vl"))}, {"enabled": False}, {"lr": 1e-3, "warmup_steps": 0}
    )
    before = {k: v.detach().clone() for k, v in m.model.state_dict().items()}
    _trainer(max_steps=2).fit(m, _loader(m, n=4))
    changed = _changed(before, m.model.state_dict())
    assert any("language_model" in k for k in changed)
    assert not any(".visual." in k for k in changed)


def test_optimizer_steps_scheduler_per_step_with_warmup_and_cosine(tmp_path_factory):
    m = VideoVLMModule(
        {"path": str(tiny_dir(tmp_path_factory, "qwen2_vl"))},
        LORA,
        {"lr": 1e-3, "warmup_steps": 2, "total_steps": 10, "min_lr_ratio": 0.1, "weight_decay": 0.01},
    )
    conf = m.configure_optimizers()
    assert conf["lr_scheduler"]["interval"] == "step"
    opt = conf["optimizer"]
    assert isinstance(opt, torch.optim.AdamW)
    decays = sorted(g["weight_decay"] for g in opt.param_groups)
    assert decays[-1] == 0.01
    f = cosine_with_warmup(2, 10, 0.1)
    assert f(0) < f(1) < f(2) == pytest.approx(1.0)
    assert f(6) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the cosine
    assert f(10) == pytest.approx(0.1) and f(50) == pytest.approx(0.1)


def test_checkpoint_holds_trainable_weights_and_resumes(tmp_path_factory, tmp_path):
    d = str(tiny_dir(tmp_path_factory, "llava_onevision"))
    m = VideoVLMModule({"path": d, "train_projector": True}, LORA, {"lr": 1e-2, "warmup_steps": 0})
    trainer = _trainer(max_steps=3, default_root_dir=str(tmp_path))
    trainer.fit(m, _loader(m, n=6))
    ckpt = tmp_path / "step3.ckpt"
    trainer.save_checkpoint(ckpt)
    state = torch.load(ckpt, weights_only=False)
    assert set(state["state_dict"]) == set(m.trainable_parameter_names())
    assert state["hyper_parameters"]["model"]["path"] == d

    resumed = VideoVLMModule.load_from_checkpoint(ckpt)
    a, b = m.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # trainable from the ckpt, frozen from model.path
    t2 = _trainer(max_steps=5, default_root_dir=str(tmp_path))
    t2.fit(resumed, _loader(resumed, n=10), ckpt_path=str(ckpt))
    assert t2.global_step == 5


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_generate_and_validation_table(tmp_path_factory, family):
    m = VideoVLMModule({"path": str(tiny_dir(tmp_path_factory, family))}, LORA, {"total_steps": 10}, max_new_tokens=4)
    eval_samples = SyntheticSamples(1, limit=4).take(4)
    answers = m.generate_answers(eval_samples)
    assert len(answers) == 4 and all(isinstance(a, str) for a in answers)
    trainer = _trainer()
    trainer.validate(m, torch.utils.data.DataLoader(eval_samples, batch_size=2, collate_fn=list), verbose=False)
    report = m.last_eval
    assert report is not None and report.n == 4
    assert {r.key for r in report.rows} == {s.qa.question_type for s in eval_samples}
    assert "val/overall" in trainer.callback_metrics


def test_save_pretrained_adapter_loads_back(tmp_path_factory, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    d = str(tiny_dir(tmp_path_factory, "qwen2_vl"))
    m = VideoVLMModule({"path": d}, LORA, {"total_steps": 10})
    m.save_pretrained(str(tmp_path / "adapter"))
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    base = AutoModelForImageTextToText.from_pretrained(d)
    PeftModel.from_pretrained(base, str(tmp_path / "adapter"))


def test_bad_model_paths_fail_with_one_line(tmp_path, tmp_path_factory):
    with pytest.raises(ModelNotFoundError, match=r"^model.path: model directory .* does not exist"):
        VideoVLMModule({"path": str(tmp_path / "nope")})
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UnknownModelFamilyError, match="unsupported model_type 'bert'"):
        VideoVLMModule({"path": str(tmp_path / "bert")})
    (tmp_path / "llava").mkdir()
    (tmp_path / "llava" / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(UnknownModelFamilyError, match="llava-hf/LLaVA-Video-7B-Qwen2-hf"):
        VideoVLMModule({"path": str(tmp_path / "llava")})
    with pytest.raises(UnknownModelFamilyError, match="is a qwen2_vl checkpoint"):
        VideoVLMModule({"path": str(tiny_dir(tmp_path_factory, "qwen2_vl")), "family": "llava_onevision"})
    with pytest.raises(ConfigError, match="model.family: unknown family"):
        VideoVLMModule({"path": "x", "family": "gpt"})
    with pytest.raises(ConfigError, match="nothing would train"):
        VideoVLMModule({"path": str(tiny_dir(tmp_path_factory, "qwen2_vl"))}, {"target_modules": ["no_such"]})
    for e in (ModelNotFoundError, UnknownModelFamilyError):
        assert issubclass(e, ConfigError)
