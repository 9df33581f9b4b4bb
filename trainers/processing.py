"""Loading a family's processor (offline, local dir or hub cache)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

from .families import Family, family_for_model_type, looks_like_local_path, read_model_type

log = logging.getLogger(__name__)


def torchvision_available() -> bool:
    from transformers.utils import is_torchvision_available

    if not is_torchvision_available():
        return False
    try:  # a CUDA torchvision wheel over CPU torch is "available" but fails to import
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _load_processor_without_torchvision(path: str, family: Family) -> Any:
    """Assemble the family's processor from the directory's files with a torch-only video processor."""
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer

    from .video_processors import TORCH_ONLY_VIDEO_PROCESSORS

    if not looks_like_local_path(path):
        from huggingface_hub import snapshot_download

        path = snapshot_download(path, local_files_only=True)
    root = Path(path).expanduser()
    tokenizer = AutoTokenizer.from_pretrained(str(root))
    image_processor = AutoImageProcessor.from_pretrained(str(root), backend="pil")
    pcfg = _read_json(root / "processor_config.json")
    # transformers 5 nests sub-processor configs in processor_config.json; older dirs have their own files
    vcfg = (
        pcfg.get("video_processor")
        or _read_json(root / "video_preprocessor_config.json")
        or _read_json(root / "preprocessor_config.json")
    )
    vcls_name = vcfg.get("video_processor_type") or family.video_processor_class
    vcls = TORCH_ONLY_VIDEO_PROCESSORS.get(
        vcls_name.replace("Fast", ""), TORCH_ONLY_VIDEO_PROCESSORS[family.video_processor_class]
    )
    video_processor = vcls.from_dict(
        {k: v for k, v in vcfg.items() if k not in ("video_processor_type", "processor_class")}
    )
    chat_template = None
    if (root / "chat_template.jinja").is_file():
        chat_template = (root / "chat_template.jinja").read_text()
    elif (root / "chat_template.json").is_file():
        chat_template = _read_json(root / "chat_template.json").get("chat_template")
    chat_template = chat_template or pcfg.get("chat_template") or getattr(tokenizer, "chat_template", None)
    proc_name = pcfg.get("processor_class") or family.processor_class
    proc_cls = getattr(transformers, proc_name, None) or getattr(transformers, family.processor_class)
    extra = {
        k: v
        for k, v in pcfg.items()
        if k
        in ("num_image_tokens", "vision_feature_select_strategy", "vision_aspect_ratio", "image_token", "video_token")
    }
    return proc_cls(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=chat_template,
        **extra,
    )


def load_processor(path_or_id: str, family: Optional[Family] = None) -> Any:
    """`AutoProcessor.from_pretrained(path_or_id)`; without torchvision, the same processor class built
    from the same files with a torch-only video processor (see trainers.video_processors)."""
    if family is None:
        family = family_for_model_type(read_model_type(path_or_id))
    if torchvision_available():
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(str(path_or_id))
    log.info("torchvision not importable: building %s with a torch-only video processor", family.processor_class)
    return _load_processor_without_torchvision(str(path_or_id), family)
