"""VSI-Bench metrics, readers and the per-type table (see metrics.py for the exact definitions).

from simsv_stream.eval import mra, score, evaluate, read_references, read_predictions
score(qa, "B")                       # 1.0 / 0.0 for multiple choice
score(qa, "2.4 meters")              # MRA for numeric questions
score("object_abs_distance", "2.4", ground_truth=2.0)   # VSI-Bench or our type names
report = evaluate(read_references("vsi.parquet"), read_predictions("preds.jsonl"))
print(report.table())
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..errors import ConfigError
from ..questions import REGISTRY
from ..questions.record import QA
from .metrics import (
    PARSE_MODES,
    THRESHOLDS,
    first_token,
    mra,
    parse_letter,
    parse_number,
    score_mc,
    score_numeric,
)
from .report import Report, TypeRow, evaluate, score_reference
from .vsibench import Reference, normalize_type, read_predictions, read_references, reference_from_row, to_vsi_row


def score(
    qa_or_type: Any,
    prediction: Any,
    ground_truth: Any = None,
    *,
    answer_mode: Optional[str] = None,
    options: Optional[Sequence[str]] = None,
    parse: str = "lmms",
) -> float:
    """Score one prediction: exact letter match for multiple choice, MRA for numbers.

    `qa_or_type` is a `QA`, a `Reference`, a QA/VSI-Bench row (dict), or a question-type name (ours or
    VSI-Bench's) together with `ground_truth` (the letter for multiple choice, the number otherwise).
    For a numeric type given by name, a non-numeric ground truth (a letter) means multiple choice."""
    if parse not in PARSE_MODES:
        raise ConfigError("parse", f"must be one of {', '.join(PARSE_MODES)}, got {parse!r}")
    if isinstance(qa_or_type, QA):
        if qa_or_type.answer_mode == "mc":
            return score_mc(prediction, qa_or_type.answer, qa_or_type.options, parse)
        return score_numeric(prediction, float(qa_or_type.ground_truth), parse)
    if isinstance(qa_or_type, Reference):
        return score_reference(qa_or_type, prediction, parse)
    if isinstance(qa_or_type, dict):
        return score_reference(reference_from_row(qa_or_type, 0), prediction, parse)
    if not isinstance(qa_or_type, str):
        raise TypeError(f"score() takes a QA, Reference, row dict or type name, got {type(qa_or_type).__name__}")
    name = normalize_type(qa_or_type)
    if name not in REGISTRY:
        raise ConfigError("question_type", f"unknown question type {qa_or_type!r}; known: {', '.join(REGISTRY)}")
    if ground_truth is None:
        raise ConfigError("ground_truth", f"scoring by type name ({qa_or_type}) needs ground_truth")
    mode = answer_mode
    if mode is None:
        if REGISTRY[name].modes == ("mc",):
            mode = "mc"
        else:
            try:
                float(ground_truth)
                mode = "oe"
            except (TypeError, ValueError):
                mode = "mc"
    if mode == "mc":
        return score_mc(prediction, str(ground_truth), options, parse)
    return score_numeric(prediction, float(ground_truth), parse)


__all__ = [
    "PARSE_MODES",
    "Reference",
    "Report",
    "THRESHOLDS",
    "TypeRow",
    "evaluate",
    "first_token",
    "mra",
    "normalize_type",
    "parse_letter",
    "parse_number",
    "read_predictions",
    "read_references",
    "reference_from_row",
    "score",
    "score_mc",
    "score_numeric",
    "to_vsi_row",
]
