"""Readers for references (VSI-Bench files, or our own QA records) and model predictions.

References
* VSI-Bench format: parquet (via pyarrow) or jsonl/json rows with `id, dataset, scene_name,
  question_type, question, options, ground_truth` (options empty/None for numeric questions; for
  multiple choice `ground_truth` is the option letter). VSI-Bench's `question_type` values are mapped
  to ours (`object_counting` -> `object_count`, ...; docs/questions.md); unknown ones are kept as-is.
* Our QA records (`QA.to_dict()` rows, one per line, optionally with an `id`), or an `episode.json`
  whose `qa` list holds them. Numeric questions are scored against the exact `ground_truth`, multiple
  choice against the `answer` letter.
The answer mode is multiple choice exactly when the row has options.

Predictions: jsonl/json rows with an id (`id`, `question_id`, `sample_id`, `doc.id`, `doc_id`) and a
prediction (`prediction`, `response`, `pred`, `output`, `text`, lmms-eval's `filtered_resps` /
`resps`), or one JSON object `{id: prediction}`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import ConfigError
from ..questions import VSI_TO_OURS


@dataclass(frozen=True)
class Reference:
    id: str
    question_type: str  # ours when known, else as given in the file
    answer_mode: str  # "mc" | "oe"
    answer: Any  # option letter (mc) or the numeric ground truth (oe)
    options: Optional[tuple[str, ...]] = None
    question: str = ""
    source_type: str = ""  # question_type exactly as the file writes it


def normalize_type(name: str) -> str:
    return VSI_TO_OURS.get(name, name)


def reference_from_row(row: dict, index: int) -> Reference:
    rid = _row_id(row, index)
    if "question_type" not in row:
        raise ConfigError("references", f"row {index}: no question_type field")
    src = str(row["question_type"])
    qtype = normalize_type(src)
    options = row.get("options")
    if options is not None and not isinstance(options, (list, tuple)):
        options = list(options) if hasattr(options, "__iter__") and not isinstance(options, str) else None
    options = tuple(str(o) for o in options) if options else None
    mode = "mc" if options else "oe"
    if "answer_mode" in row:  # our QA record
        mode = str(row["answer_mode"])
        answer = row.get("answer") if mode == "mc" else row.get("ground_truth", row.get("answer"))
    elif "ground_truth" in row:  # VSI-Bench row
        answer = row["ground_truth"]
    else:
        raise ConfigError("references", f"row {index} (id {rid}): no ground_truth or answer field")
    if mode == "oe":
        try:
            answer = float(answer)
        except (TypeError, ValueError):
            raise ConfigError(
                "references", f"row {index} (id {rid}): numeric ground truth expected, got {answer!r}"
            ) from None
        if not math.isfinite(answer):
            raise ConfigError("references", f"row {index} (id {rid}): ground truth is not finite")
    else:
        answer = str(answer).strip()
    return Reference(rid, qtype, mode, answer, options, str(row.get("question", "")), src)


def read_references(path: str | Path) -> list[Reference]:
    rows = _read_rows(Path(path), "references")
    if isinstance(rows, dict):
        if isinstance(rows.get("qa"), list):  # episode.json
            rows = rows["qa"]
        else:
            raise ConfigError("references", f"{path}: expected rows (jsonl, parquet, a JSON list or episode.json)")
    refs = [reference_from_row(r, i) for i, r in enumerate(rows)]
    seen: set[str] = set()
    for r in refs:
        if r.id in seen:
            raise ConfigError("references", f"{path}: duplicate id {r.id!r}")
        seen.add(r.id)
    return refs


def read_predictions(path: str | Path) -> dict[str, Any]:
    data = _read_rows(Path(path), "predictions")
    if isinstance(data, dict):
        return {str(k): v for k, v in data.items()}
    out: dict[str, Any] = {}
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise ConfigError("predictions", f"row {i}: expected an object, got {type(row).__name__}")
        out[_row_id(row, i)] = _prediction(row, i)
    return out


# ----------------------------------------------------------------------------------------------

_ID_KEYS = ("id", "question_id", "sample_id")
_PRED_KEYS = ("prediction", "response", "pred", "output", "text")


def _row_id(row: dict, index: int) -> str:
    for k in _ID_KEYS:
        if row.get(k) is not None:
            return str(row[k])
    doc = row.get("doc")
    if isinstance(doc, dict) and doc.get("id") is not None:
        return str(doc["id"])
    if row.get("doc_id") is not None:
        return str(row["doc_id"])
    return str(index)


def _prediction(row: dict, index: int) -> Any:
    for k in _PRED_KEYS:
        if k in row:
            return row[k]
    for k in ("filtered_resps", "resps"):
        v = row.get(k)
        while isinstance(v, list) and v:
            v = v[0]
        if isinstance(v, str):
            return v
    raise ConfigError(
        "predictions", f"row {index}: no prediction field (one of {', '.join(_PRED_KEYS)}, filtered_resps)"
    )


def _read_rows(path: Path, field: str) -> Any:
    if not path.exists():
        raise ConfigError(field, f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - pyarrow is a dependency
            raise ConfigError(field, "reading parquet needs pyarrow (pip install pyarrow)") from None
        try:
            return pq.read_table(path).to_pylist()
        except Exception as e:
            raise ConfigError(field, f"{path}: not a readable parquet file ({e})") from None
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        return list(_jsonl(text, path, field))
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return list(_jsonl(text, path, field))  # a .json file holding json lines


def _jsonl(text: str, path: Path, field: str) -> Iterable[Any]:
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(field, f"{path}:{n}: not valid JSON ({e.msg})") from None


def to_vsi_row(qa: Any, id: Any, dataset: str = "simsv", scene_name: str = "") -> dict:
    """One of our QA records as a VSI-Bench-format row (VSI-Bench's question_type name when the
    task exists there; `ground_truth` = the letter for multiple choice, the answer text otherwise),
    e.g. to evaluate a model on generated questions with lmms-eval's VSI-Bench task."""
    from ..questions import OURS_TO_VSI

    d = qa.to_dict() if hasattr(qa, "to_dict") else dict(qa)
    return {
        "id": id,
        "dataset": dataset,
        "scene_name": scene_name,
        "question_type": OURS_TO_VSI.get(d["question_type"], d["question_type"]),
        "question": d["question"],
        "options": list(d["options"]) if d.get("options") else None,
        "ground_truth": str(d["answer"]),
    }
