"""Model families the trainer supports, keyed by the `model_type` in a checkpoint's config.json.

A family says which processor/video-processor classes it uses, which sub-module is the multimodal
projector (trained through peft's `modules_to_save` when `train_projector` is on), which modules hold
the language model (where LoRA goes by default) and which token ends an assistant turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import ModelNotFoundError, UnknownModelFamilyError


@dataclass(frozen=True)
class Family:
    name: str  # our name: "qwen2_vl" | "llava_onevision"
    model_types: tuple[str, ...]  # config.json model_type values of this family
    processor_class: str  # transformers processor class
    video_processor_class: str  # transformers video processor class (needs torchvision)
    projector_modules: tuple[str, ...]  # peft modules_to_save names (matched as a dotted suffix)
    vision_modules: tuple[str, ...]  # the vision encoder's module name(s) (matched as a dotted suffix)
    language_model_pattern: str  # regex fragment that a LoRA target's module path must contain
    end_of_turn: str  # token string closing an assistant turn
    video_token: str  # placeholder the chat template emits for a video


QWEN2_VL = Family(
    name="qwen2_vl",
    model_types=("qwen2_vl", "qwen2_5_vl"),
    processor_class="Qwen2VLProcessor",
    video_processor_class="Qwen2VLVideoProcessor",
    projector_modules=("merger",),  # model.visual.merger (PatchMerger: ln_q + 2-layer MLP)
    vision_modules=("visual",),  # patch_embed, blocks and the merger
    language_model_pattern=r"language_model",
    end_of_turn="<|im_end|>",
    video_token="<|video_pad|>",
)

LLAVA_ONEVISION = Family(
    name="llava_onevision",
    model_types=("llava_onevision",),
    processor_class="LlavaOnevisionProcessor",
    video_processor_class="LlavaOnevisionVideoProcessor",
    projector_modules=("multi_modal_projector",),
    vision_modules=("vision_tower",),  # SigLIP; the projector sits outside it
    language_model_pattern=r"language_model",
    end_of_turn="<|im_end|>",
    video_token="<video>",
)

FAMILIES: dict[str, Family] = {f.name: f for f in (QWEN2_VL, LLAVA_ONEVISION)}
_BY_MODEL_TYPE = {mt: f for f in FAMILIES.values() for mt in f.model_types}

# model_types of checkpoints people try that are NOT in transformers' format, with the fix
_KNOWN_NON_HF = {
    "llava": "this looks like an original LLaVA-NeXT checkpoint (e.g. lmms-lab/LLaVA-Video-7B-Qwen2), "
    "which transformers cannot load as a video model; use its transformers-format conversion "
    "(e.g. llava-hf/LLaVA-Video-7B-Qwen2-hf, model_type llava_onevision)",
    "llava_qwen": "this looks like an original LLaVA-NeXT checkpoint; use its transformers-format "
    "conversion (model_type llava_onevision, e.g. llava-hf/LLaVA-Video-7B-Qwen2-hf)",
}


def family_by_name(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnknownModelFamilyError(
            "model.family", f"unknown family {name!r}; supported: {', '.join(sorted(FAMILIES))}"
        ) from None


def family_for_model_type(model_type: Optional[str], where: str = "model.path") -> Family:
    if model_type in _BY_MODEL_TYPE:
        return _BY_MODEL_TYPE[model_type]
    hint = _KNOWN_NON_HF.get(model_type or "")
    supported = ", ".join(sorted(_BY_MODEL_TYPE))
    raise UnknownModelFamilyError(
        where, hint or f"unsupported model_type {model_type!r}; supported model types: {supported}"
    )


def looks_like_local_path(path_or_id: str) -> bool:
    """A hub id is `name` or `org/name`; anything else (absolute, ./, ../, ~, deeper nesting,
    an existing directory) is treated as a local path."""
    p = str(path_or_id)
    if p.startswith(("/", "./", "../", "~")) or p.count("/") > 1 or Path(p).expanduser().exists():
        return True
    return False


def read_model_type(path_or_id: str, where: str = "model.path") -> str:
    """model_type from config.json of a local dir, or through the hub cache for a hub id (no download
    attempted when HF_HUB_OFFLINE=1)."""
    p = Path(str(path_or_id)).expanduser()
    if looks_like_local_path(path_or_id):
        if not p.is_dir():
            raise ModelNotFoundError(
                where,
                f"model directory {str(p)!r} does not exist (build a tiny one with `simsv-stream make-tiny-model DIR`)",
            )
        cfg = p / "config.json"
        if not cfg.is_file():
            raise ModelNotFoundError(where, f"{str(p)!r} has no config.json: not a transformers model directory")
        return json.loads(cfg.read_text()).get("model_type")
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(str(path_or_id)).model_type
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelNotFoundError(where, f"cannot load config of {path_or_id!r} ({first})") from None
