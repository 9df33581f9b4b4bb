"""Typed trainer config sections (model, lora, optim), validated at construction: a bad value fails
with one line naming the field before any model is loaded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Optional, TypeVar

from simsv_stream.errors import ConfigError

from .families import FAMILIES

T = TypeVar("T")

DTYPES = ("auto", "float32", "bfloat16", "float16")
VISION_ATTENTION = ("batched", "per_window")


def _from_mapping(cls: type[T], section: str, d: Any) -> T:
    if d is None:
        return cls()  # type: ignore[call-arg]
    if isinstance(d, cls):
        return d
    if not isinstance(d, Mapping):
        raise ConfigError(section, f"expected a mapping, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}", f"unknown key; known: {', '.join(sorted(known))}")
    return cls(**d)  # type: ignore[call-arg]


def _num(section: str, name: str, v: Any, lo: float, hi: float, integer: bool = False) -> None:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or not lo <= v <= hi:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{section}.{name}", f"must be {kind} in {lo}..{hi}, got {v!r}")


@dataclass
class ModelConfig:
    """Which checkpoint and how to load it."""

    path: str = ""  # hub id (served from the local HF cache) or local directory
    family: Optional[str] = None  # optional check: qwen2_vl | llava_onevision
    dtype: str = "auto"  # base weights: auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16 | float16
    attn_implementation: Optional[str] = None  # sdpa | eager | flash_attention_2 (None: transformers' default)
    gradient_checkpointing: Any = "auto"  # auto: the decoder layers needed to fit the device (trainers/memory.py)
    train_projector: bool = False  # also train the multimodal projector / merger
    upcast_trainable: bool = True  # keep trainable params (LoRA, projector copy) in fp32
    local_files_only: bool = True  # never reach the hub at run time
    checkpoint_trainable_only: bool = True  # Lightning checkpoints hold only trainable weights
    # step speed (docs/gpu.md); each can be switched off to measure what it buys (`bench step --variants`)
    vision_no_grad: bool = True  # frozen vision weights stay outside autograd (trainers/frozen_vision.py)
    vision_attention: str = "batched"  # batched: one attention call per vision block | per_window (transformers)
    labelled_loss: bool = True  # lm_head + fp32 loss only at labelled positions (trainers/loss.py)
    tf32: bool = True  # TF32 matmuls for the fp32 parts (LoRA weights) on CUDA
    compile: bool = False  # torch.compile each decoder layer (first steps slower; then faster)

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.strip():
            raise ConfigError(
                "model.path", "required: a hub id (e.g. Qwen/Qwen2.5-VL-3B-Instruct) or a local model directory"
            )
        if self.family is not None and self.family not in FAMILIES:
            raise ConfigError(
                "model.family", f"unknown family {self.family!r}; supported: {', '.join(sorted(FAMILIES))}"
            )
        if self.dtype not in DTYPES:
            raise ConfigError("model.dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.gradient_checkpointing not in (True, False, "auto"):
            raise ConfigError(
                "model.gradient_checkpointing", f"must be auto, true or false, got {self.gradient_checkpointing!r}"
            )
        if self.vision_attention not in VISION_ATTENTION:
            raise ConfigError(
                "model.vision_attention", f"must be one of {', '.join(VISION_ATTENTION)}, got {self.vision_attention!r}"
            )
        for name in ("vision_no_grad", "labelled_loss", "tf32", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"model.{name}", f"must be true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_any(cls, d: Any) -> "ModelConfig":
        return _from_mapping(cls, "model", d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoraConfig:
    """peft LoRA. enabled: false means full fine-tuning of the language model (vision tower frozen)."""

    enabled: bool = True
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0  # > 0 adds a dropout kernel and an activation copy to every adapted module
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    scope: str = "language_model"  # language_model: only the LLM's modules | all: every matching module
    bias: str = "none"

    def __post_init__(self) -> None:
        _num("lora", "r", self.r, 1, 4096, integer=True)
        _num("lora", "alpha", self.alpha, 1, 1 << 16)
        _num("lora", "dropout", self.dropout, 0.0, 0.9)
        if (
            not isinstance(self.target_modules, (list, tuple))
            or not self.target_modules
            or not all(isinstance(t, str) and t for t in self.target_modules)
        ):
            raise ConfigError(
                "lora.target_modules", f"must be a non-empty list of module names, got {self.target_modules!r}"
            )
        if self.scope not in ("language_model", "all"):
            raise ConfigError("lora.scope", f"must be language_model or all, got {self.scope!r}")
        if self.bias not in ("none", "all", "lora_only"):
            raise ConfigError("lora.bias", f"must be none, all or lora_only, got {self.bias!r}")
        self.target_modules = list(self.target_modules)

    @classmethod
    def from_any(cls, d: Any) -> "LoraConfig":
        return _from_mapping(cls, "lora", d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OptimConfig:
    """AdamW + linear warm-up + cosine decay, stepped every optimizer step."""

    lr: float = 2e-4
    projector_lr: Optional[float] = None  # separate lr for the projector when it trains
    weight_decay: float = 0.0  # not applied to biases and norms
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: Optional[int] = None  # wins over warmup_ratio
    warmup_ratio: float = 0.03
    min_lr_ratio: float = 0.0  # cosine floor, as a fraction of lr
    total_steps: Optional[int] = None  # default: trainer.max_steps
    fused: Optional[bool] = None  # fused AdamW kernel (None: on for CUDA and CPU parameters)

    def __post_init__(self) -> None:
        _num("optim", "lr", self.lr, 0.0, 1.0)
        if self.projector_lr is not None:
            _num("optim", "projector_lr", self.projector_lr, 0.0, 1.0)
        _num("optim", "weight_decay", self.weight_decay, 0.0, 10.0)
        if len(self.betas) != 2:
            raise ConfigError("optim.betas", f"expected two numbers, got {self.betas!r}")
        for b in self.betas:
            _num("optim", "betas", b, 0.0, 0.999999)
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        _num("optim", "eps", self.eps, 0.0, 1.0)
        if self.warmup_steps is not None:
            _num("optim", "warmup_steps", self.warmup_steps, 0, 1 << 31, integer=True)
        _num("optim", "warmup_ratio", self.warmup_ratio, 0.0, 1.0)
        _num("optim", "min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        if self.total_steps is not None:
            _num("optim", "total_steps", self.total_steps, 1, 1 << 31, integer=True)
        if self.fused not in (None, True, False):
            raise ConfigError("optim.fused", f"must be true, false or null (auto), got {self.fused!r}")

    @classmethod
    def from_any(cls, d: Any) -> "OptimConfig":
        return _from_mapping(cls, "optim", d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


MC_ANSWERS = ("letter", "letter_text")


@dataclass
class DataConfig:
    """How samples become batches (collate) and how the loader batches them."""

    batch_size: int = 1
    map_workers: int = 2  # parallel encoders, processes or threads (torchdata ParallelMapper);
    # 0: decode + encode inline, in the trainer's prefetch thread
    map_method: str = "process"  # process: encoders in their own processes, so the trainer process
    # only moves tensors (its CPU time per sample does not grow with
    # map_workers; see bench/trainer_cpu.py) | thread: in the trainer
    prefetch: int = 2  # batches prefetched ahead of the training step
    num_frames: Optional[int] = None  # resample every video to this many frames (None: as streamed)
    max_length: Optional[int] = None  # reject longer samples (video tokens cannot be truncated)
    system_prompt: Optional[str] = None  # None: the chat template's default
    mc_answer: str = "letter"  # target for multiple choice: "B" | letter_text: "B. sofa" (SIMS-V's mc format)
    video_fps: Optional[float] = None  # frame rate told to the processor (Qwen2.5-VL's temporal positions);
    # None: the sample's own, else scales.fps of the run
    log_samples: bool = False  # append every trained sample (step, id, type, mix version) to
    # output_dir/samples/rank{r}.jsonl

    def __post_init__(self) -> None:
        _num("data", "batch_size", self.batch_size, 1, 1 << 16, integer=True)
        _num("data", "map_workers", self.map_workers, 0, 256, integer=True)
        if self.map_method not in ("process", "thread"):
            raise ConfigError("data.map_method", f"must be process or thread, got {self.map_method!r}")
        _num("data", "prefetch", self.prefetch, 0, 1024, integer=True)
        if self.num_frames is not None:
            _num("data", "num_frames", self.num_frames, 1, 1024, integer=True)
        if self.max_length is not None:
            _num("data", "max_length", self.max_length, 16, 1 << 20, integer=True)
        if self.video_fps is not None:
            _num("data", "video_fps", self.video_fps, 0.01, 1000.0)
        if not isinstance(self.log_samples, bool):
            raise ConfigError("data.log_samples", f"must be true or false, got {self.log_samples!r}")
        if self.mc_answer not in MC_ANSWERS:
            raise ConfigError("data.mc_answer", f"must be one of {', '.join(MC_ANSWERS)}, got {self.mc_answer!r}")

    @classmethod
    def from_any(cls, d: Any) -> "DataConfig":
        return _from_mapping(cls, "data", d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
