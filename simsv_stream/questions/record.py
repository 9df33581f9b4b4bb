"""The QA record every question generator returns and the wire carries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Optional

AnswerMode = Literal["mc", "oe"]


@dataclass(frozen=True)
class QA:
    question_type: str  # registry name, e.g. "abs_distance"
    question: str  # question text without the post-prompt
    answer: str  # option letter ("B") for mc, number as text for oe
    answer_mode: AnswerMode
    ground_truth: Any  # exact value: metres, cm, m², count, order list, direction
    options: Optional[list[str]] = None  # ["A. chair", "B. sofa", ...] for mc
    evidence: dict[str, Any] = field(default_factory=dict)  # instance ids and values used

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QA":
        return cls(**d)
