"""`simsv-stream export --samples N --out DIR [--config FILE]
[--mix 3q --frames 16 --size 224x224 --seed S --workers W]`

Writes the first N samples of a stream (ids 0..N-1, the config's initial mix and scales) to disk in
SIMS-V's layout, for trainers that read files: DIR/videos/<episode>.mp4 (H.264, one per rendered
episode) and DIR/annotations.jsonl (LLaVA-Video conversations, one line per sample: id, video,
conversations [{from: human, value: "<image>\\n" + prompt}, {from: gpt, value: answer}], type,
question_type, ground_truth, qa, provenance), plus DIR/export.json (counts, bytes, seconds).

Same (seed, sample id, scales, mix) -> same question, answer and frames as the stream: orders are
planned as the dispatcher writes them and filled by the worker's own Producer. W processes render
and encode in parallel. Read it back with `simsv_stream.export.MaterializedDataset` under a
standard torch DataLoader.
"""

from __future__ import annotations

import argparse
import sys

from . import add_command, one_line_errors


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--samples", type=int, required=True, help="number of samples (ids 0..N-1)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="YAML with a `stream:` section and `scales:`/`mix:` (a run config works)",
    )
    p.add_argument("--mix", default=None, help="question mix (preset name or 'a=0.5 b=0.5'; default: config, else 3q)")
    p.add_argument("--frames", default=None, help="frames per video")
    p.add_argument("--size", default=None, help="WIDTHxHEIGHT, e.g. 224x224")
    p.add_argument("--rooms", default=None, help="rooms per house: N or A-B")
    p.add_argument("--questions-per-episode", default=None, help="samples served from one rendered episode")
    p.add_argument("--seed", type=int, default=None, help="run seed (stream.seed)")
    p.add_argument(
        "--backend",
        default=None,
        help="override stream.backend (procedural, procthor-layout, thor, noise, module:function)",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="processes (default: stream.workers of the config, else 4)"
    )
    p.add_argument("--crf", type=int, default=18, help="x264 constant rate factor, 0..51, lower = better (default 18)")
    p.add_argument("--preset", default="veryfast", help="x264 preset (default veryfast)")
    p.add_argument(
        "--mc-answer",
        default="letter",
        choices=("letter", "letter_text"),
        help="multiple-choice answer turn: the letter (VSI-Bench) or 'B. sofa' (SIMS-V's mc format)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing export in DIR")
    p.add_argument("--quiet", action="store_true")


def load_stream_config(args: argparse.Namespace):
    """StreamConfig from --config (or defaults) with the command-line overrides applied."""
    from ..stream.config import StreamConfig

    cfg = StreamConfig.from_yaml(args.config) if args.config else StreamConfig()
    over = {}
    for name in ("mix", "seed", "backend"):
        v = getattr(args, name, None)
        if v is not None:
            over[name] = v
    sc = {}
    for name, key in (
        ("frames", "frames"),
        ("size", "size"),
        ("rooms", "rooms"),
        ("questions_per_episode", "questions_per_episode"),
    ):
        v = getattr(args, name, None)
        if v is not None:
            sc[key] = v
    if sc:
        over["scales"] = cfg.scales.updated(sc)
    return cfg.updated(**over) if over else cfg


def run(args: argparse.Namespace) -> int:
    from ..export import export

    cfg = load_stream_config(args)
    last = [-1]

    def progress(done: int, total: int) -> None:
        pct = int(100 * done / total)
        if not args.quiet and (pct // 10 != last[0] // 10 or done == total):
            last[0] = pct
            print(f"  {done}/{total} samples", file=sys.stderr, flush=True)

    res = export(
        args.out,
        args.samples,
        cfg,
        workers=args.workers,
        crf=args.crf,
        preset=args.preset,
        mc_answer=args.mc_answer,
        overwrite=args.overwrite,
        progress=progress,
    )
    print(res.summary())
    return 0


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "export",
        "write N stream samples to disk (SIMS-V layout: mp4 + LLaVA-Video jsonl)",
        __doc__,
        add_arguments,
        run,
    )
    one_line_errors(p)
