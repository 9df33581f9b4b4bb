"""`simsv-stream make-tiny-model DIR [--family qwen2_vl|qwen2_5_vl|llava_onevision] [--seed S] [--overwrite]`

Builds a tiny video VLM of the real architecture with random (seeded) weights, a byte-level BPE
tokenizer trained offline on the question templates' vocabulary plus the family's special tokens,
the family's chat template and processor configs, and saves it as a normal transformers directory:
`from_pretrained(DIR)` loads it with no hub access. For CPU demos and tests.
"""

from __future__ import annotations

import argparse
import time


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "make-tiny-model",
        help="build a tiny random video VLM + tokenizer + processor, offline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="output directory (created; must be empty unless --overwrite)")
    p.add_argument("--family", default="qwen2_vl", help="qwen2_vl (default), qwen2_5_vl or llava_onevision")
    p.add_argument("--seed", type=int, default=0, help="weight / tokenizer seed (default 0)")
    p.add_argument("--hidden", type=int, default=64, help="text hidden size (default 64)")
    p.add_argument("--layers", type=int, default=2, help="text layers (default 2)")
    p.add_argument(
        "--frame-side",
        type=int,
        default=64,
        help="Qwen2-VL: frames are resized to at most this many pixels squared (default 64)",
    )
    p.add_argument("--heads", type=int, default=4, help="Qwen2-VL: text attention heads (default 4)")
    p.add_argument("--kv-heads", type=int, default=2, help="Qwen2-VL: text key/value heads (default 2)")
    p.add_argument("--intermediate", type=int, default=None, help="Qwen2-VL: text MLP width (default 2 x hidden)")
    p.add_argument(
        "--vision",
        default="tiny",
        choices=("tiny", "full"),
        help="Qwen2-VL: 1-block toy vision tower (default) or the released checkpoints' (patch 14, 32 blocks x 1280)",
    )
    p.add_argument(
        "--vision-hidden",
        type=int,
        default=None,
        help="with --vision full: the released depth and window layout at this width (a multiple of 64; "
        "e.g. 128: a structure model whose op counts match the real tower, built in seconds on CPU)",
    )
    p.add_argument(
        "--model-vocab",
        type=int,
        default=None,
        help="Qwen2-VL: pad embedding/lm_head to this vocabulary size (e.g. 151936)",
    )
    p.add_argument("--dtype", default=None, help="save the weights in this dtype (e.g. bfloat16; default float32)")
    p.add_argument("--device", default=None, help="build the random weights on this device (e.g. cuda)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trainers.tiny_model import build_tiny_model

    t0 = time.perf_counter()
    out = build_tiny_model(
        args.dir,
        family=args.family,
        seed=args.seed,
        hidden=args.hidden,
        layers=args.layers,
        frame_side=args.frame_side,
        overwrite=args.overwrite,
        heads=args.heads,
        kv_heads=args.kv_heads,
        intermediate=args.intermediate,
        vision=args.vision,
        vision_hidden=args.vision_hidden,
        model_vocab=args.model_vocab,
        dtype=args.dtype,
        device=args.device,
    )
    print(f"tiny {args.family} model written to {out} in {time.perf_counter() - t0:.1f}s")
    return 0
