"""`simsv-stream eval --predictions FILE --references FILE`: VSI-Bench-style per-type table."""
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
    p.add_argument("--predictions", required=True, metavar="FILE",
                   help="jsonl/json rows with an id and a prediction, or a JSON {id: prediction} object")
    p.add_argument("--references", required=True, metavar="FILE",
                   help="VSI-Bench parquet/jsonl (id, question_type, options, ground_truth, ...), "
                        "QA records (jsonl), or an episode.json")
    p.add_argument("--parse", choices=("lmms", "lenient"), default="lmms",
                   help="answer parsing: lmms = exactly lmms-eval's (first token); lenient = letter/number "
                        "anywhere sensible (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..eval import evaluate, read_predictions, read_references

    refs = read_references(args.references)
    preds = read_predictions(args.predictions)
    report = evaluate(refs, preds, parse=args.parse)
    print(report.table())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**report.to_dict(), "parse": args.parse}, f, indent=2)
    return 0
