"""Run configs: the shipped YAMLs validate, overrides, one-line errors before anything starts, and the
`train` command end to end on the in-process synthetic source."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsv_stream.errors import ConfigError
from trainers.run_config import apply_overrides, build_run_config, load_run_config
from trainers.tiny_model import cached_tiny_model

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
TRAINER_CONFIGS = [
    p
    for p in CONFIGS
    if p.name in {"demo.yaml", "sims-v-3q-llava-video-7b.yaml", "qwen2.5-vl-3b-lora.yaml", "curriculum-example.yaml"}
]


def test_shipped_trainer_configs_exist():
    assert {p.name for p in TRAINER_CONFIGS} == {
        "demo.yaml",
        "sims-v-3q-llava-video-7b.yaml",
        "qwen2.5-vl-3b-lora.yaml",
        "curriculum-example.yaml",
    }


@pytest.mark.parametrize("path", TRAINER_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    cfg = load_run_config(path)
    assert cfg.trainer["max_steps"] > 0 and cfg.model.path
    assert [e.at_step for e in cfg.schedule] == sorted({e.at_step for e in cfg.schedule})


def test_paper_recipe_is_3q_25k_samples():
    cfg = load_run_config(Path(__file__).resolve().parents[1] / "configs" / "sims-v-3q-llava-video-7b.yaml")
    samples = cfg.trainer["max_steps"] * cfg.data.batch_size * cfg.trainer["accumulate_grad_batches"]
    assert 25_000 <= samples < 25_200 and cfg.mix == "3q"
    assert cfg.model.family == "llava_onevision" and cfg.data.mc_answer == "letter_text"


def test_overrides_and_yaml_numbers():
    raw = apply_overrides(
        {"model": {"path": "m"}}, ["--optim.lr", "1e-4", "trainer.max_steps=7", "--lora.target_modules=[q_proj]"]
    )
    cfg = build_run_config(raw)
    assert cfg.optim.lr == 1e-4 and cfg.trainer["max_steps"] == 7 and cfg.lora.target_modules == ["q_proj"]


@pytest.mark.parametrize(
    "override, field",
    [
        ("trainer.max_steps=0", "trainer.max_steps"),
        ("trainer.nope=1", "trainer.nope"),
        ("optim.lr=-1", "optim.lr"),
        ("lora.r=0", "lora.r"),
        ("data.mc_answer=word", "data.mc_answer"),
        ("mix=bogus", "mix"),
        ("scales.frames=0", "scales.frames"),
        ("stream.workers=-1", "stream.workers"),
        ("eval.samples=-5", "eval.samples"),
        ("schedule=[{at_step: 5, mix: 3q}, {at_step: 5, mix: vsi}]", "schedule[1].at_step"),
        ("schedule=[{at_step: 10000, mix: 3q}]", "schedule[0].at_step"),
        ("schedule=[{at_step: 1, mix: {nope: 1}}]", "schedule[0].mix.nope"),
        ("schedule=[{at_step: 1, scales: {rooms: 5-2}}]", "schedule[0].scales.rooms_max"),
        ("bogus.key=1", "bogus.key"),
    ],
)
def test_bad_values_are_one_line_naming_the_field(override, field):
    with pytest.raises(ConfigError) as e:
        build_run_config(apply_overrides({"model": {"path": "m"}, "trainer": {"max_steps": 100}}, [override]))
    assert str(e.value).startswith(f"{field}: ") and "\n" not in str(e.value)


def test_missing_model_section_and_file():
    with pytest.raises(ConfigError, match="^model: required"):
        build_run_config({})
    with pytest.raises(ConfigError, match="^--config: no such file"):
        load_run_config("/no/such.yaml")


def test_train_command_end_to_end_on_synthetic_source(tmp_path_factory, tmp_path, capsys):
    from simsv_stream.cli import main

    model = cached_tiny_model(tmp_path_factory.getbasetemp(), "qwen2_vl")
    demo = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
    out = tmp_path / "run"
    rc = main(
        [
            "train",
            "--config",
            str(demo),
            "--model.path",
            str(model),
            "--stream.backend",
            "synthetic",
            "--trainer.max_steps",
            "6",
            "--output_dir",
            str(out),
            "--scales.frames",
            "4",
            "--scales.size",
            "32x32",
            "--eval.samples",
            "4",
            "schedule=[]",
            "--trainer.enable_progress_bar",
            "false",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "overall (VSI-Bench)" in text
    assert (out / "final" / "adapter_config.json").is_file()
    assert list((out / "csv").rglob("metrics.csv")) and list((out / "checkpoints").glob("*.ckpt"))


def test_train_command_bad_config_is_one_line(tmp_path, capsys):
    from simsv_stream.cli import main

    assert main(["train", "--model.path", str(tmp_path / "missing"), "--stream.backend", "synthetic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: model.path: model directory")


def test_gpu_configs_fit_one_gpu_and_drop_the_slow_settings():
    root = Path(__file__).resolve().parents[1] / "configs"
    paper = load_run_config(root / "sims-v-3q-llava-video-7b.yaml")
    # full FT of 7B with bf16 AdamW did not fit 80 GB and dropped lr-sized updates: LoRA r 64, fp32 adapters
    assert paper.lora.enabled and paper.lora.r == 64 and paper.model.upcast_trainable
    assert paper.trainer["precision"] == "bf16-mixed"
    for cfg in (paper, load_run_config(root / "qwen2.5-vl-3b-lora.yaml")):
        assert cfg.model.gradient_checkpointing == "auto" and cfg.lora.dropout == 0.0
        assert cfg.model.vision_no_grad and cfg.model.labelled_loss and cfg.model.vision_attention == "batched"


@pytest.mark.parametrize(
    "key,value",
    [
        ("model.gradient_checkpointing", "sometimes"),
        ("model.vision_attention", "windows"),
        ("model.compile", "maybe"),
        ("optim.fused", "auto"),
    ],
)
def test_speed_switches_are_validated(key, value):
    raw = apply_overrides({"model": {"path": "m"}}, [f"{key}={value}"])
    with pytest.raises(ConfigError) as e:
        build_run_config(raw)
    assert e.value.field == key


def test_trainer_threads_leave_the_workers_their_cores():
    from simsv_stream.commands.train import trainer_threads

    gpu = "trainer.accelerator=gpu"
    cfg = build_run_config(
        apply_overrides(
            {"model": {"path": "m"}}, ["stream.workers=4", "data.map_workers=2", "data.map_method=process", gpu]
        )
    )
    assert trainer_threads(cfg, 16) == 10
    assert trainer_threads(cfg, 4) == 1
    ddp = build_run_config(
        apply_overrides({"model": {"path": "m"}}, ["stream.workers=4", "data.map_workers=2", "trainer.devices=2", gpu])
    )
    assert trainer_threads(ddp, 32) == 10  # 16 cores per rank
    threads = build_run_config(
        apply_overrides(
            {"model": {"path": "m"}}, ["stream.workers=4", "data.map_workers=2", "data.map_method=thread", gpu]
        )
    )
    assert trainer_threads(threads, 16) == 12
    cpu = build_run_config(apply_overrides({"model": {"path": "m"}}, ["trainer.accelerator=cpu"]))
    assert trainer_threads(cpu, 16) is None  # the step itself runs on the CPU: torch's default
