"""Scoring references against predictions and the VSI-Bench-style table.

Per type: accuracy (multiple choice) or MRA (numeric), averaged over that type's questions; a
numeric type asked as multiple choice gets its own row (`abs_distance[mc]`). Overall, VSI-Bench's
way (lmms-eval's `vsibench_aggregate_results`): the three relative-direction levels are first
averaged into one "rel_direction" task score (equal weight per level), then overall = mean of the
task scores. We also report the plain mean over the per-type rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..questions import REGISTRY
from .metrics import score_mc, score_numeric
from .vsibench import Reference

DIRECTION_TYPES = ("rel_direction_easy", "rel_direction_medium", "rel_direction_hard")


def score_reference(ref: Reference, prediction: Any, parse: str = "lmms") -> float:
    if prediction is None:
        return 0.0
    if ref.answer_mode == "mc":
        return score_mc(prediction, ref.answer, ref.options, parse)
    return score_numeric(prediction, float(ref.answer), parse)


def row_key(ref: Reference) -> str:
    qt = REGISTRY.get(ref.question_type)
    if qt is not None and ref.answer_mode != qt.default_mode:
        return f"{ref.question_type}[{ref.answer_mode}]"
    return ref.question_type


@dataclass
class TypeRow:
    key: str
    metric: str  # "accuracy" | "MRA"
    n: int
    score: float  # 0..1
    missing: int = 0  # questions without a prediction (scored 0)


@dataclass
class Report:
    rows: list[TypeRow]
    overall: float  # VSI-Bench's overall (relative directions merged)
    mean_per_type: float
    n: int
    missing: int
    unmatched: int  # predictions whose id is in no reference
    rel_direction: Optional[float] = None
    per_question: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "types": {r.key: {"metric": r.metric, "n": r.n, "score": r.score, "missing": r.missing} for r in self.rows},
            "rel_direction": self.rel_direction,
            "overall": self.overall,
            "mean_per_type": self.mean_per_type,
            "n": self.n,
            "missing": self.missing,
            "unmatched_predictions": self.unmatched,
        }

    def table(self) -> str:
        w = max([len(r.key) for r in self.rows] + [len("rel_direction (mean of 3 levels)")])
        lines = [f"{'question type':<{w}}  {'metric':<8}  {'n':>6}  {'score':>6}"]
        lines.append("-" * len(lines[0]))
        for r in self.rows:
            miss = f"  ({r.missing} without prediction)" if r.missing else ""
            lines.append(f"{r.key:<{w}}  {r.metric:<8}  {r.n:>6}  {100 * r.score:6.2f}{miss}")
        lines.append("-" * len(lines[0]))
        if self.rel_direction is not None:
            lines.append(
                f"{'rel_direction (mean of 3 levels)':<{w}}  {'accuracy':<8}  {'':>6}  {100 * self.rel_direction:6.2f}"
            )
        lines.append(f"{'overall (VSI-Bench)':<{w}}  {'':<8}  {self.n:>6}  {100 * self.overall:6.2f}")
        lines.append(f"{'mean over type rows':<{w}}  {'':<8}  {'':>6}  {100 * self.mean_per_type:6.2f}")
        if self.missing or self.unmatched:
            lines.append(
                f"{self.missing} reference(s) without prediction (scored 0); "
                f"{self.unmatched} prediction(s) matching no reference (ignored)"
            )
        return "\n".join(lines)


def evaluate(references: Sequence[Reference], predictions: dict[str, Any], parse: str = "lmms") -> Report:
    by_key: dict[str, list[float]] = {}
    miss_by: dict[str, int] = {}
    modes: dict[str, str] = {}
    per_q: list[float] = []
    missing = 0
    for ref in references:
        key = row_key(ref)
        modes[key] = ref.answer_mode
        pred = predictions.get(ref.id)
        if pred is None:
            missing += 1
            miss_by[key] = miss_by.get(key, 0) + 1
        s = score_reference(ref, pred, parse)
        per_q.append(s)
        by_key.setdefault(key, []).append(s)
    order = [k for k in REGISTRY if k in by_key]
    order += sorted(k for k in by_key if k not in order)
    rows = [
        TypeRow(
            k,
            "accuracy" if modes[k] == "mc" else "MRA",
            len(by_key[k]),
            sum(by_key[k]) / len(by_key[k]),
            miss_by.get(k, 0),
        )
        for k in order
    ]
    task_scores: list[float] = []
    directions = [r.score for r in rows if r.key in DIRECTION_TYPES]
    rel_dir = sum(directions) / len(directions) if directions else None
    for r in rows:
        if r.key not in DIRECTION_TYPES:
            task_scores.append(r.score)
    if rel_dir is not None:
        task_scores.append(rel_dir)
    overall = sum(task_scores) / len(task_scores) if task_scores else 0.0
    mean_rows = sum(r.score for r in rows) / len(rows) if rows else 0.0
    ids = {r.id for r in references}
    unmatched = sum(1 for k in predictions if k not in ids)
    return Report(rows, overall, mean_rows, len(references), missing, unmatched, rel_dir, per_q)
