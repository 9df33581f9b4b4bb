"""Tiny offline video VLMs for the CPU demo and tests.

`build_tiny_model(out_dir, family)` writes a normal transformers directory (config.json, safetensors
weights, generation_config.json, tokenizer.json + tokenizer_config.json, chat template, image / video
processor configs, processor_config.json) that loads with `AutoModelForImageTextToText.from_pretrained`
and `AutoProcessor.from_pretrained` (or `trainers.processing.load_processor` where torchvision is
missing) with no hub access:

- weights: random (seeded) from a small config of the real architecture (Qwen2-VL: 2-layer text model,
  1-block vision tower, patch 4; LLaVA-OneVision: 2-layer Qwen2 + 1-layer SigLIP, image 32, patch 8);
- tokenizer: byte-level BPE trained offline with `tokenizers` on a generated corpus of the question
  templates' vocabulary (categories, numbers, option letters, template words, post-prompts); the
  byte-level alphabet means any answer string tokenizes; plus the family's special tokens;
- chat template: the family's ChatML layout (Qwen2-VL's `<|vision_start|><|video_pad|><|vision_end|>`,
  LLaVA-OneVision's `<video>` line), with the default system prompt.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Iterator, Optional

from simsv_stream.errors import ConfigError

from .families import family_by_name

# ---------------------------------------------------------------- corpus ------------------------------

CATEGORIES = [
    "chair",
    "sofa",
    "table",
    "dining table",
    "coffee table",
    "bed",
    "lamp",
    "floor lamp",
    "tv",
    "television",
    "refrigerator",
    "fridge",
    "oven",
    "stove",
    "microwave",
    "sink",
    "toilet",
    "bathtub",
    "shower",
    "cabinet",
    "dresser",
    "wardrobe",
    "bookshelf",
    "shelf",
    "desk",
    "stool",
    "armchair",
    "couch",
    "ottoman",
    "plant",
    "potted plant",
    "vase",
    "clock",
    "mirror",
    "painting",
    "picture",
    "rug",
    "carpet",
    "pillow",
    "cushion",
    "blanket",
    "laptop",
    "computer",
    "monitor",
    "keyboard",
    "printer",
    "trash can",
    "trash bin",
    "basket",
    "box",
    "backpack",
    "suitcase",
    "towel",
    "door",
    "window",
    "curtain",
    "radiator",
    "heater",
    "fan",
    "washing machine",
    "dishwasher",
    "kettle",
    "toaster",
    "coffee maker",
    "bottle",
    "cup",
    "mug",
    "bowl",
    "plate",
    "book",
    "nightstand",
    "side table",
    "tv stand",
    "counter",
    "kitchen island",
    "piano",
    "guitar",
]
ROOMS = ["bedroom", "kitchen", "living room", "bathroom", "dining room", "office", "hallway", "room", "house"]
DIRECTIONS = ["left", "right", "back", "front", "front-left", "front-right", "back-left", "back-right"]
TEMPLATES = [
    "How many {a}(s) are in this room?",
    "How many {a}(s) are in this video?",
    "Measuring from the closest point of each object, what is the direct distance between the {a} and the {b} "
    "(in meters)?",
    "What is the length of the longest dimension (length, width, or height) of the {a}, measured in centimeters?",
    "What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the "
    "combined space.",
    "Measuring from the closest point of each object, which of these objects ({a}, {b}, {c}, {d}) is the closest "
    "to the {r}?",
    "If I am standing by the {a} and facing the {b}, is the {c} to my left or right?",
    "If I am standing by the {a} and facing the {b}, is the {c} to my left, right, or back?",
    "If I am standing by the {a} and facing the {b}, is the {c} to my front-left, front-right, back-left, or "
    "back-right?",
    "You are a robot beginning at the {a} facing the {b}. You want to navigate to the {c}. You will perform the "
    "following actions (Note: for each [please fill in], choose either 'turn back,' 'turn left,' or 'turn right.'): "
    "1. Go forward until the {a} 2. [please fill in] 3. Go forward until the {c}. You have reached the final "
    "destination.",
    "What will be the first-time appearance order of the following categories in the video: {a}, {b}, {c}, {d}?",
    "Which of these objects appears first in the video: the {a} or the {b}?",
    "How many rooms does the video show?",
    "These are frames of a video.",
]
POST_PROMPTS = [
    "Answer with the option's letter from the given choices directly.",
    "Please answer the question using a single word or phrase.",
    "Options:",
]


def corpus_lines(seed: int = 0, n: int = 4000) -> Iterator[str]:
    """Deterministic text covering the question templates, option lines, answers and numbers."""
    rng = random.Random(seed)
    yield from CATEGORIES
    yield from ROOMS
    yield from DIRECTIONS
    yield from POST_PROMPTS
    yield "0 1 2 3 4 5 6 7 8 9 . , : ; ( ) [ ] ' \" - ? !"
    yield "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z a b c d e f g h i j k l m n o p q r s t u v w x y z"
    yield "turn left turn right turn back go forward until"
    yield " ".join(str(i) for i in range(0, 200))
    for _ in range(n):
        cats = rng.sample(CATEGORIES, 5)
        q = rng.choice(TEMPLATES).format(a=cats[0], b=cats[1], c=cats[2], d=cats[3], r=cats[4])
        yield q
        letters = "ABCD"
        opts = [f"{letters[i]}. {x}" for i, x in enumerate(rng.sample(CATEGORIES + DIRECTIONS, 4))]
        yield "\n".join(["Options:"] + opts)
        yield rng.choice(letters)
        yield f"{rng.uniform(0, 20):.1f}"
        yield str(rng.randint(0, 300))
        yield rng.choice(POST_PROMPTS)


# ------------------------------------------------------------- tokenizer -------------------------------

QWEN2_VL_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
LLAVA_OV_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]

# ChatML as the real checkpoints render it: Qwen2-VL puts vision placeholders inline in the user turn;
# LLaVA-OneVision (LLaVA-NeXT "qwen_1_5" conversation) puts <image>/<video> on a line before the text.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
LLAVA_OV_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}<image>\n{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}<video>\n{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_tokenizer(special_tokens: list[str], vocab_size: int = 1024, seed: int = 0):
    """Byte-level BPE with Qwen2's normalizer/pre-tokenizer, trained on `corpus_lines`.
    Returns a transformers `Qwen2Tokenizer`."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    tok = Tokenizer(BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus_lines(seed)), trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in model["merges"]]
    named = {"<image>": "image_token", "<video>": "video_token"}
    extra = {v: k for k, v in named.items() if k in special_tokens}
    hf_tok = Qwen2Tokenizer(
        vocab=model["vocab"],
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=[t for t in special_tokens if t not in ("<|endoftext|>", "<|im_end|>")],
        **extra,
    )
    hf_tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in special_tokens], special_tokens=True)
    hf_tok.model_max_length = 8192
    for t in special_tokens:  # special tokens kept their trainer ids
        assert hf_tok.convert_tokens_to_ids(t) == model["vocab"][t], t
    return hf_tok


# ----------------------------------------------------------------- model -------------------------------


def _round_up(n: int, k: int = 64) -> int:
    return (n + k - 1) // k * k


def _tiny_qwen2_vl(
    tok,
    seed: int,
    hidden: int,
    layers: int,
    frame_side: int,
    v2_5: bool = False,
    vision_size: str = "tiny",
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: Optional[int] = None,
    model_vocab: Optional[int] = None,
    vision_hidden: Optional[int] = None,
):
    import transformers
    from transformers import Qwen2VLImageProcessorPil

    from .video_processors import TorchOnlyQwen2VLVideoProcessor

    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN2_VL_SPECIAL}
    head_dim = hidden // heads
    half = head_dim // 2  # mrope sections split head_dim/2 into t/h/w
    mrope = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    full = vision_size == "full"  # the released checkpoints' vision tower (patch 14, 32 blocks, 1280 wide)
    patch = 14 if full else 4
    if v2_5:  # Qwen2.5-VL: SwiGLU vision blocks, window attention, merger to out_hidden_size
        vision = dict(
            depth=1,
            hidden_size=32,
            out_hidden_size=hidden,
            intermediate_size=64,
            num_heads=2,
            patch_size=4,
            spatial_merge_size=2,
            temporal_patch_size=2,
            in_channels=3,
            window_size=16,
            fullatt_block_indexes=[0],
            tokens_per_second=2,
        )
        if full:  # Qwen2.5-VL-3B/7B's vision config
            vision.update(
                depth=32,
                hidden_size=1280,
                intermediate_size=3420,
                num_heads=16,
                patch_size=14,
                window_size=112,
                fullatt_block_indexes=[7, 15, 23, 31],
            )
            if vision_hidden:  # same depth, windows and heads; narrower (3420/1280 keeps the MLP ratio)
                vision.update(hidden_size=vision_hidden, intermediate_size=vision_hidden * 3420 // 1280)
        cfg_cls, model_cls, proc_cls = (
            transformers.Qwen2_5_VLConfig,
            transformers.Qwen2_5_VLForConditionalGeneration,
            transformers.Qwen2_5_VLProcessor,
        )
    else:
        vision = dict(
            depth=1,
            embed_dim=32,
            hidden_size=hidden,
            num_heads=2,
            mlp_ratio=2,
            patch_size=4,
            spatial_merge_size=2,
            temporal_patch_size=2,
            in_channels=3,
        )
        if full:  # Qwen2-VL-2B/7B's vision config
            vision.update(depth=32, embed_dim=vision_hidden or 1280, num_heads=16, mlp_ratio=4, patch_size=14)
        cfg_cls, model_cls, proc_cls = (
            transformers.Qwen2VLConfig,
            transformers.Qwen2VLForConditionalGeneration,
            transformers.Qwen2VLProcessor,
        )
    cfg = cfg_cls(
        text_config=dict(
            vocab_size=max(_round_up(len(tok)), model_vocab or 0),
            hidden_size=hidden,
            intermediate_size=intermediate or hidden * 2,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            max_position_embeddings=4096,
            rms_norm_eps=1e-6,
            tie_word_embeddings=False,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    model = model_cls(cfg)
    factor = patch * 2  # patch * merge
    # frames of any size are resized to at most frame_side^2 pixels (tiny CPU cost), at least one merge window
    size = {"shortest_edge": factor * factor, "longest_edge": frame_side * frame_side}
    image_processor = Qwen2VLImageProcessorPil(size=size, patch_size=patch, temporal_patch_size=2, merge_size=2)
    video_cfg = dict(
        size=size,
        patch_size=patch,
        temporal_patch_size=2,
        merge_size=2,
        min_frames=2,
        max_frames=256,
        cap_pixels_per_frame=False,
        do_resize=True,
        do_rescale=True,
        do_normalize=True,
        rescale_factor=1 / 255,
        image_mean=TorchOnlyQwen2VLVideoProcessor.image_mean,
        image_std=TorchOnlyQwen2VLVideoProcessor.image_std,
        resample=3,
        do_convert_rgb=True,
        do_sample_frames=False,
    )
    processor = proc_cls(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=TorchOnlyQwen2VLVideoProcessor(**video_cfg),
        chat_template=QWEN2_VL_CHAT_TEMPLATE,
    )
    return model, processor


def _tiny_llava_onevision(tok, seed: int, hidden: int, layers: int, frame_side: int):
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessorPil,
        LlavaOnevisionProcessor,
    )

    from .video_processors import TorchOnlyLlavaOnevisionVideoProcessor

    ids = {t: tok.convert_tokens_to_ids(t) for t in LLAVA_OV_SPECIAL}
    image_size, patch = 32, 8
    pinpoints = [
        [image_size, image_size],
        [image_size, 2 * image_size],
        [2 * image_size, image_size],
        [2 * image_size, 2 * image_size],
    ]
    cfg = LlavaOnevisionConfig(
        vision_config=dict(
            model_type="siglip_vision_model",
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=patch,
            vision_use_head=False,
        ),
        text_config=dict(
            model_type="qwen2",
            vocab_size=_round_up(len(tok)),
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_hidden_layers=layers,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
        ),
        image_token_index=ids["<image>"],
        video_token_index=ids["<video>"],
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        image_grid_pinpoints=pinpoints,
        vision_aspect_ratio="anyres_max_9",
        tie_word_embeddings=False,
    )
    model = LlavaOnevisionForConditionalGeneration(cfg)
    image_processor = LlavaOnevisionImageProcessorPil(
        size={"height": image_size, "width": image_size}, image_grid_pinpoints=pinpoints, do_pad=True
    )
    video_cfg = dict(
        size={"height": image_size, "width": image_size},
        do_resize=True,
        do_rescale=True,
        do_normalize=True,
        rescale_factor=1 / 255,
        image_mean=TorchOnlyLlavaOnevisionVideoProcessor.image_mean,
        image_std=TorchOnlyLlavaOnevisionVideoProcessor.image_std,
        resample=3,
        do_convert_rgb=True,
        do_sample_frames=False,
    )
    extra = dict(
        num_image_tokens=(image_size // patch) ** 2,
        vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_9",
    )
    processor = LlavaOnevisionProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=TorchOnlyLlavaOnevisionVideoProcessor(**video_cfg),
        chat_template=LLAVA_OV_CHAT_TEMPLATE,
        **extra,
    )
    return model, processor


TINY_ARCHITECTURES = ("qwen2_vl", "qwen2_5_vl", "llava_onevision")


def build_tiny_model(
    out_dir: str | Path,
    family: str = "qwen2_vl",
    seed: int = 0,
    hidden: int = 64,
    layers: int = 2,
    frame_side: int = 64,
    vocab_size: int = 1024,
    overwrite: bool = False,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: Optional[int] = None,
    vision: str = "tiny",
    model_vocab: Optional[int] = None,
    dtype: Optional[str] = None,
    device: Optional[str] = None,
    vision_hidden: Optional[int] = None,
) -> Path:
    """Write a tiny random model to out_dir and return the path. `family`: qwen2_vl, qwen2_5_vl (the
    Qwen2.5-VL architecture of the qwen2_vl family) or llava_onevision.

    Sizing (Qwen2-VL families; for GPU benchmarks of a realistic-size model with random weights):
    `heads`/`kv_heads`/`intermediate` of the text model, `vision="full"` for the released checkpoints'
    vision tower (patch 14, 32 blocks of width 1280) instead of the 1-block toy one, `model_vocab` to pad
    the embedding/lm_head to a real vocabulary size (151936 for Qwen2-VL), `vision_hidden` to keep that
    tower's depth and window layout at a small width (a CPU structure model), `dtype` (e.g. bfloat16) to
    save the weights in, `device` (e.g. cuda) to build the random weights on."""
    import torch
    from transformers import GenerationConfig

    arch = family
    if arch not in TINY_ARCHITECTURES:
        raise ConfigError("model.family", f"unknown family {family!r}; tiny models: {', '.join(TINY_ARCHITECTURES)}")
    fam = family_by_name("qwen2_vl" if arch == "qwen2_5_vl" else arch)
    out = Path(out_dir).expanduser()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError("DIR", f"{str(out)!r} exists and is not empty (pass --overwrite to replace it)")
    if hidden % 8 or hidden < 16:
        raise ConfigError("hidden", f"must be a multiple of 8 and >= 16, got {hidden}")
    if vision not in ("tiny", "full"):
        raise ConfigError("vision", f"expected tiny or full, got {vision!r}")
    if heads < 1 or kv_heads < 1 or heads % kv_heads or hidden % heads or (hidden // heads) % 2:
        raise ConfigError(
            "heads",
            f"need heads % kv_heads == 0 and hidden / heads even, got hidden "
            f"{hidden}, heads {heads}, kv_heads {kv_heads}",
        )
    if vision_hidden is not None and (vision != "full" or vision_hidden < 64 or vision_hidden % 64):
        raise ConfigError(
            "vision_hidden",
            f"needs --vision full and a multiple of 64 (16 heads, rotary halves), "
            f"got {vision_hidden} with --vision {vision}",
        )
    if fam.name != "qwen2_vl" and (vision != "tiny" or heads != 4 or kv_heads != 2 or intermediate or model_vocab):
        raise ConfigError("family", "--vision/--heads/--kv-heads/--intermediate/--model-vocab: Qwen2-VL families only")
    out.mkdir(parents=True, exist_ok=True)

    special = QWEN2_VL_SPECIAL if fam.name == "qwen2_vl" else LLAVA_OV_SPECIAL
    tok = train_tokenizer(special, vocab_size=vocab_size, seed=seed)
    tok.chat_template = QWEN2_VL_CHAT_TEMPLATE if fam.name == "qwen2_vl" else LLAVA_OV_CHAT_TEMPLATE

    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        if fam.name == "qwen2_vl":
            model, processor = _tiny_qwen2_vl(
                tok,
                seed,
                hidden,
                layers,
                frame_side,
                v2_5=(arch == "qwen2_5_vl"),
                vision_size=vision,
                heads=heads,
                kv_heads=kv_heads,
                intermediate=intermediate,
                model_vocab=model_vocab,
                vision_hidden=vision_hidden,
            )
        else:
            model, processor = _tiny_llava_onevision(tok, seed, hidden, layers, frame_side)
    # A frozen random lm_head at the usual init (std 0.02) bounds every logit by |row|*|normed h| ~ 1.3
    # for hidden 64, so LoRA alone could never push the loss below ~ln(vocab) - 1.3. A wider head
    # (row norm ~ 2.4) lets the adapters actually learn answers in a CPU demo. The std is scaled by
    # sqrt(64 / hidden) so every width keeps that logit scale (std ~2.4, initial loss ~ln(vocab) + 3): a
    # fixed 0.3 at hidden 1536 gave logits of std ~12, an initial loss of ~60 and instant memorisation.
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.3 * (64 / hidden) ** 0.5)
    eot, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    model.generation_config = GenerationConfig(
        eos_token_id=[eot, pad], pad_token_id=pad, do_sample=False, max_new_tokens=16
    )
    if dtype:
        model.to(getattr(torch, dtype))
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "README.md").write_text(
        f"# tiny {arch} (random weights, seed {seed})\n\nBuilt offline by `simsv-stream make-tiny-model "
        f"--family {arch}` for CPU demos and tests; it learns only what you train it on.\n"
    )
    return out


def cached_tiny_model(root: str | Path, family: str = "qwen2_vl", seed: int = 0) -> Path:
    """root/tiny-<family>, built on first use (tests share one per session this way)."""
    path = Path(root) / f"tiny-{family}-s{seed}"
    if not (path / "config.json").is_file():
        build_tiny_model(path, family=family, seed=seed, overwrite=True)
    return path
