"""VSI-Bench metrics: exact-match accuracy for multiple choice, Mean Relative Accuracy for numbers.

Which comparison: VSI-Bench's paper writes MRA with a strict `<`, while the reference
implementation -- lmms-eval's VSI-Bench task, `mean_relative_accuracy` -- compares with `<=`, and
published scores come from it. We match lmms-eval: a threshold theta counts when

    |y_hat - y| / y  <=  1 - theta,   theta in np.linspace(0.5, 0.95, 10)

computed the same way (numpy linspace, float64, `1 - theta`), so a score published with lmms-eval and
one computed here agree bit for bit, including at the boundaries (|y_hat - y|/y = 0.5 scores 0.1
under `<=`, 0 under `<`). `mra(..., strict=True)` gives the `<` variant.

Parsing also follows lmms-eval by default (`parse="lmms"`): the prediction's first space-separated
token with trailing dots stripped (`pred.split(' ')[0].rstrip('.').strip()`); multiple choice is an
exact, case-insensitive match of that token with the correct letter; numbers are `float(token)`, and an
unparseable number scores 0 (lmms-eval's worst case). `parse="lenient"` is more forgiving: a leading
option letter ("B", "(B)", "B)", "B: sofa", "Answer: B"), an option's text ("back-left"), the first
number anywhere in the text ("about 3.5 m", "1,250"), or a number word up to twenty.

A ground truth of 0 (never produced here; lmms-eval would divide by zero) scores 1 for an exact 0 and
0 otherwise.
"""

from __future__ import annotations

import math
import re
from typing import Any, Optional, Sequence

import numpy as np

THRESHOLDS = np.linspace(0.5, 0.95, int((0.95 - 0.5) / 0.05 + 2))  # lmms-eval's exact expression
assert len(THRESHOLDS) == 10

PARSE_MODES = ("lmms", "lenient")


def mra(pred: Optional[float], gt: float, *, strict: bool = False) -> float:
    """Mean Relative Accuracy of one numeric prediction (None/NaN/inf -> 0)."""
    if pred is None:
        return 0.0
    try:
        pred = float(pred)
        gt = float(gt)
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(pred) or not math.isfinite(gt):
        return 0.0
    if gt == 0.0:
        return 1.0 if pred == 0.0 else 0.0
    rel = abs(pred - gt) / gt
    ok = rel < 1 - THRESHOLDS if strict else rel <= 1 - THRESHOLDS
    return float(ok.mean())


# ----------------------------------------------------------------------------------------------
# parsing


def first_token(text: str) -> str:
    """lmms-eval's `fuzzy_matching`."""
    return text.split(" ")[0].rstrip(".").strip()


_LEAD_LETTER = re.compile(r"^\s*[\(\[]?([A-Z])(?:[\)\]\.:,]|\s|$)")
_SAID_LETTER = re.compile(r"\b(?:answer|option|choice)\s*(?:is|:)?\s*[:\-]?\s*[\(\[]?([A-Z])(?![A-Za-z])", re.I)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}


def parse_letter(prediction: Any, options: Optional[Sequence[str]] = None, mode: str = "lmms") -> Optional[str]:
    """The option letter a prediction names (upper case), or None."""
    if prediction is None:
        return None
    text = str(prediction)
    if mode == "lmms":
        tok = first_token(text)
        return tok.upper() if tok else None
    _check_mode(mode)
    n = len(options) if options else 26
    valid = {chr(65 + i) for i in range(n)}
    stripped = text.strip()
    for pat in (_LEAD_LETTER, _SAID_LETTER):
        m = pat.search(stripped)
        if m and m.group(1) in valid:  # upper case only: "a sofa" is an article, not option A
            return m.group(1)
    if options:
        body = [_option_body(o).lower() for o in options]
        low = stripped.lower().rstrip(".").strip()
        for i, b in enumerate(body):
            if low == b:
                return chr(65 + i)
        hits = [i for i, b in enumerate(body) if b and re.search(r"(?<![\w-])" + re.escape(b) + r"(?![\w-])", low)]
        if len(hits) == 1:
            return chr(65 + hits[0])
    return None


def parse_number(prediction: Any, mode: str = "lmms") -> Optional[float]:
    """The number a prediction states, or None."""
    if prediction is None:
        return None
    if isinstance(prediction, (int, float)) and not isinstance(prediction, bool):
        return float(prediction)
    text = str(prediction)
    if mode == "lmms":
        try:
            return float(first_token(text))
        except (TypeError, ValueError):
            return None
    _check_mode(mode)
    m = _NUMBER.search(text)
    if m:
        return float(m.group(0).replace(",", ""))
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in _WORDS:
            return float(_WORDS[w])
    return None


def _option_body(option: str) -> str:
    m = re.match(r"^\s*[A-Za-z]\s*[\.\)]\s*(.*)$", option)
    return (m.group(1) if m else option).strip()


def _check_mode(mode: str) -> None:
    if mode not in PARSE_MODES:
        from ..errors import ConfigError

        raise ConfigError("parse", f"must be one of {', '.join(PARSE_MODES)}, got {mode!r}")


# ----------------------------------------------------------------------------------------------
# scoring one answer


def score_mc(prediction: Any, letter: str, options: Optional[Sequence[str]] = None, parse: str = "lmms") -> float:
    got = parse_letter(prediction, options, parse)
    return 1.0 if got is not None and got.lower() == str(letter).strip().lower() else 0.0


def score_numeric(prediction: Any, gt: float, parse: str = "lmms") -> float:
    return mra(parse_number(prediction, parse), gt)
