"""`simsv-stream eval --predictions FILE --references FILE`: VSI-Bench-style per-type table.
`simsv-stream eval --model DIR --references FILE --videos DIR`: answer with a model first (trainers.vsi_eval)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score predictions against VSI-Bench-format (or our QA) references",
        description="Score model predictions the way VSI-Bench does (lmms-eval): option-letter accuracy "
        "for multiple choice, Mean Relative Accuracy for numbers; prints the per-type table, "
        "VSI-Bench's overall (relative-direction levels merged) and the mean over types.",
    )
    p.add_argument(
        "--predictions",
        metavar="FILE",
        help="jsonl/json rows with an id and a prediction, or a JSON {id: prediction} object",
    )
    p.add_argument(
        "--model",
        metavar="DIR",
        help="instead of --predictions: answer the references with this model (a model directory, or a "
        "training run's OUTPUT_DIR/final adapter) on the videos of --videos, greedily",
    )
    p.add_argument(
        "--videos", metavar="DIR", help="with --model: DIR/<dataset>/<scene_name>.mp4 or DIR/<scene_name>.mp4"
    )
    p.add_argument("--frames", type=int, default=16, help="with --model: frames sampled per video (default 16)")
    p.add_argument("--batch-size", type=int, default=4, help="with --model: questions per generate call (default 4)")
    p.add_argument("--max-new-tokens", type=int, default=16, help="with --model (default 16)")
    p.add_argument("--save-predictions", metavar="FILE", help="with --model: write {id, prediction} jsonl")
    p.add_argument(
        "--references",
        required=True,
        metavar="FILE",
        help="VSI-Bench parquet/jsonl (id, question_type, options, ground_truth, ...), "
        "QA records (jsonl), or an episode.json",
    )
    p.add_argument(
        "--parse",
        choices=("lmms", "lenient"),
        default="lmms",
        help="answer parsing: lmms = exactly lmms-eval's (first token); lenient = letter/number "
        "anywhere sensible (default: %(default)s)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..eval import evaluate, read_predictions, read_references

    if bool(args.predictions) == bool(args.model):
        raise ConfigError("eval", "give exactly one of --predictions FILE or --model DIR")
    if args.model:
        from trainers.vsi_eval import evaluate_model

        report, preds = evaluate_model(
            args.model,
            args.references,
            args.videos,
            frames=args.frames,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            parse=args.parse,
        )
        if args.save_predictions:
            with open(args.save_predictions, "w", encoding="utf-8") as f:
                f.writelines(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in preds.items())
    else:
        refs = read_references(args.references)
        preds = read_predictions(args.predictions)
        report = evaluate(refs, preds, parse=args.parse)
    print(report.table())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**report.to_dict(), "parse": args.parse}, f, indent=2)
    return 0
