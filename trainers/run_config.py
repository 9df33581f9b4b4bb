"""The run config of `simsv-stream train`: one YAML file with sections

    seed_everything, output_dir,
    model, lora, optim, data, trainer, stream, scales, mix, schedule, eval

plus dotted overrides on the command line (`--optim.lr 1e-4`, `trainer.max_steps=20`; values are parsed
as YAML). Everything is validated here, before any model, worker or socket exists: a bad value is one
ConfigError line naming the field.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from simsv_stream.config import Scales
from simsv_stream.errors import ConfigError

from .config import DataConfig, LoraConfig, ModelConfig, OptimConfig, _from_mapping, _num

SECTIONS = (
    "seed_everything",
    "output_dir",
    "model",
    "lora",
    "optim",
    "data",
    "trainer",
    "stream",
    "scales",
    "mix",
    "schedule",
    "eval",
)
TRAINER_DEFAULTS = {
    "max_steps": 100,
    "accelerator": "auto",
    "devices": 1,
    "precision": "32-true",
    "log_every_n_steps": 10,
    "enable_model_summary": False,
}


@dataclass
class EvalConfig:
    """Held-out evaluation: `samples` questions from a reserved seed range, generated once per run
    through the same stream; greedy answers scored with VSI-Bench metrics."""

    samples: int = 0  # 0: no evaluation
    every_n_steps: Optional[int] = None  # None: only at the end
    batch_size: int = 4
    max_new_tokens: int = 16
    seed_offset: int = 1_000_000  # eval seed = stream.seed + seed_offset (never used for training)
    mix: Any = None  # question mix of the held-out set (None: the run's initial `mix`)

    def __post_init__(self) -> None:
        _num("eval", "samples", self.samples, 0, 1 << 24, integer=True)
        if self.every_n_steps is not None:
            _num("eval", "every_n_steps", self.every_n_steps, 1, 1 << 31, integer=True)
        _num("eval", "batch_size", self.batch_size, 1, 4096, integer=True)
        _num("eval", "max_new_tokens", self.max_new_tokens, 1, 4096, integer=True)
        _num("eval", "seed_offset", self.seed_offset, 1, 1 << 62, integer=True)


@dataclass
class ScheduleEntry:
    at_step: int
    mix: Any = None  # mix spec (preset name / weights), None: unchanged
    scales: Optional[dict[str, Any]] = None  # scale changes, None: unchanged


@dataclass
class RunConfig:
    model: ModelConfig
    lora: LoraConfig = field(default_factory=LoraConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: dict[str, Any] = field(default_factory=lambda: dict(TRAINER_DEFAULTS))
    stream: dict[str, Any] = field(default_factory=dict)
    scales: Scales = field(default_factory=Scales)
    mix: Any = "3q"
    schedule: list[ScheduleEntry] = field(default_factory=list)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed_everything: int = 0
    output_dir: str = "runs/train"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scales"] = self.scales.to_dict()
        return d


# ----------------------------------------------------------------------------------- parsing


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-4` (no dot) as a string; read it as a float like everyone expects."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def apply_overrides(cfg: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """`--a.b value`, `--a.b=value` or `a.b=value`; values parsed as YAML (so 1e-4, true, [1, 2] work)."""
    items: list[tuple[str, str]] = []
    args = list(overrides)
    i = 0
    while i < len(args):
        a = args[i]
        key = a[2:] if a.startswith("--") else a
        if "=" in key:
            k, v = key.split("=", 1)
        elif a.startswith("--") and i + 1 < len(args):
            k, v = key, args[i + 1]
            i += 1
        else:
            raise ConfigError("overrides", f"expected key.sub=value or --key.sub value, got {a!r}")
        items.append((k, v))
        i += 1
    for k, v in items:
        parts = k.split(".")
        if parts[0] not in SECTIONS:
            raise ConfigError(k, f"unknown section {parts[0]!r}; sections: {', '.join(SECTIONS)}")
        node = cfg
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(k, "cannot override inside a non-mapping value")
        node[parts[-1]] = yaml_load(v)
    return cfg


def _trainer_section(d: Any) -> dict[str, Any]:
    import lightning as L

    if d is None:
        d = {}
    if not isinstance(d, Mapping):
        raise ConfigError("trainer", f"expected a mapping, got {type(d).__name__}")
    allowed = set(inspect.signature(L.Trainer.__init__).parameters) - {"self"}
    for k in d:
        if k not in allowed:
            raise ConfigError(f"trainer.{k}", "not a lightning.Trainer argument")
    out = {**TRAINER_DEFAULTS, **dict(d)}
    if not isinstance(out.get("max_steps"), int) or out["max_steps"] < 1:
        raise ConfigError(
            "trainer.max_steps", f"a stream has no length: set a positive max_steps, got {out.get('max_steps')!r}"
        )
    return out


def _mix(spec: Any, where: str) -> Any:
    from simsv_stream.questions.mix import Mix

    try:
        return Mix.parse(spec)
    except ConfigError as e:
        raise _prefixed(where, e) from None


def _schedule(entries: Any, base_scales: Scales, max_steps: int) -> list[ScheduleEntry]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError("schedule", f"expected a list of {{at_step, mix, scales}}, got {type(entries).__name__}")
    out: list[ScheduleEntry] = []
    last = -1
    scales = base_scales
    for i, e in enumerate(entries):
        where = f"schedule[{i}]"
        if not isinstance(e, Mapping):
            raise ConfigError(where, f"expected a mapping with at_step and mix and/or scales, got {e!r}")
        unknown = set(e) - {"at_step", "mix", "scales"}
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown key; known: at_step, mix, scales")
        step = e.get("at_step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ConfigError(f"{where}.at_step", f"must be a non-negative integer, got {step!r}")
        if step <= last:
            raise ConfigError(f"{where}.at_step", f"steps must increase: {step} comes after {last}")
        if step >= max_steps:
            raise ConfigError(
                f"{where}.at_step", f"{step} is not before trainer.max_steps ({max_steps}); it would never apply"
            )
        if e.get("mix") is None and not e.get("scales"):
            raise ConfigError(where, "needs a mix and/or scales")
        if e.get("mix") is not None:
            _mix(e["mix"], f"{where}.mix")
        if e.get("scales"):
            if not isinstance(e["scales"], Mapping):
                raise ConfigError(f"{where}.scales", f"expected a mapping, got {e['scales']!r}")
            try:
                scales = scales.updated(dict(e["scales"]))
            except ConfigError as err:
                raise _prefixed(f"{where}.scales", err) from None
        out.append(ScheduleEntry(step, e.get("mix"), dict(e["scales"]) if e.get("scales") else None))
        last = step
    return out


def _stream(d: Any, scales: Scales, mix: Any) -> dict[str, Any]:
    d = dict(d or {})
    if d.get("backend") == "synthetic":
        return d  # trainers.data stand-in: no stream process at all
    from simsv_stream.stream.config import StreamConfig

    try:
        StreamConfig.from_dict(d, scales=scales, mix=mix)
    except ConfigError as e:
        raise _prefixed("stream", e) from None
    return d


def _prefixed(section: str, e: ConfigError) -> ConfigError:
    """Re-raise a section's ConfigError with the section in its field name (`workers` -> `stream.workers`)."""
    fld = getattr(e, "field", "") or ""
    msg = str(e)
    if fld and msg.startswith(f"{fld}: "):
        msg = msg[len(fld) + 2 :]
    first = fld.split(".")[0]
    if not fld:
        fld = section
    elif section.split(".")[-1] == first:  # "mix" raised inside section "schedule[0].mix"
        fld = section + fld[len(first) :]
    elif not fld.startswith(f"{section}."):
        fld = f"{section}.{fld}"
    return ConfigError(fld, msg)


def build_run_config(raw: Mapping[str, Any]) -> RunConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError("config", f"expected a mapping of sections, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(unknown[0], f"unknown section; sections: {', '.join(SECTIONS)}")
    if raw.get("model") is None:
        raise ConfigError("model", "required section (model.path: a hub id or local directory)")
    model = ModelConfig.from_any(raw.get("model"))
    lora = LoraConfig.from_any(raw.get("lora"))
    optim = OptimConfig.from_any(raw.get("optim"))
    data = DataConfig.from_any(raw.get("data"))
    trainer = _trainer_section(raw.get("trainer"))
    try:
        scales = Scales().updated(dict(raw.get("scales") or {}))
    except ConfigError as e:
        raise _prefixed("scales", e) from None
    if data.video_fps is None:  # the stream's videos are sampled at scales.fps
        data.video_fps = float(scales.fps)
    mix = raw.get("mix", "3q")
    _mix(mix, "mix")
    schedule = _schedule(raw.get("schedule"), scales, trainer["max_steps"])
    stream = _stream(raw.get("stream"), scales, mix)
    ev = _from_mapping(EvalConfig, "eval", raw.get("eval"))
    if ev.mix is not None:
        _mix(ev.mix, "eval.mix")
    seed = raw.get("seed_everything", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed_everything", f"must be a non-negative integer, got {seed!r}")
    out_dir = raw.get("output_dir", "runs/train")
    if not isinstance(out_dir, str) or not out_dir:
        raise ConfigError("output_dir", f"must be a path, got {out_dir!r}")
    return RunConfig(model, lora, optim, data, trainer, stream, scales, mix, schedule, ev, seed, out_dir)


def load_run_config(path: Optional[str | Path], overrides: Sequence[str] = ()) -> RunConfig:
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError("--config", f"no such file: {str(p)!r}")
        try:
            raw = yaml_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            first = str(e).strip().splitlines()[0]
            raise ConfigError("--config", f"{p}: invalid YAML ({first})") from None
    return build_run_config(apply_overrides(dict(raw), overrides))
