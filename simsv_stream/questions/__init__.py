"""Question generation: every VSI-Bench / SIMS-V question type, from an `Episode` and a seeded RNG.

    from simsv_stream.questions import REGISTRY, generate, generate_all
    qa = generate(episode, "abs_distance", np.random.default_rng(0))   # QA or None
    qa = generate(episode, "abs_distance", rng, answer_mode="mc")      # 4 spread numeric options

`generate` returns None when the type cannot be asked unambiguously on this episode (no pair of
unique salient objects, every candidate within a tie margin, ...): a type that cannot be asked
yields nothing, never a wrong question. Rules and margins: see `questions/base.py`.

Adding a question type = one module with a `TYPES` list of `QuestionType` + one line in `_MODULES`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..episode import Episode
from ..errors import ConfigError
from . import counting, measurement, perspective, temporal
from .base import QuestionType, View
from .record import QA

_MODULES = (
    measurement,  # abs_distance, object_size, room_size, rel_distance
    perspective,  # rel_direction_easy / _medium / _hard, route_plan
    temporal,  # appearance_order, temporal_order
    counting,  # object_count, room_count
)

REGISTRY: dict[str, QuestionType] = {t.name: t for m in _MODULES for t in m.TYPES}

# VSI-Bench `question_type` values -> our names (docs/questions.md)
VSI_TO_OURS: dict[str, str] = {t.vsi_name: t.name for t in REGISTRY.values() if t.vsi_name}
OURS_TO_VSI: dict[str, str] = {v: k for k, v in VSI_TO_OURS.items()}


def question_type(name: str) -> QuestionType:
    """The registered type, or ConfigError naming the unknown one and listing the known ones."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError("question_type", f"unknown question type {name!r}; known: {', '.join(REGISTRY)}") from None


def generate(
    episode: Episode,
    question_type_name: str,
    rng: np.random.Generator,
    answer_mode: Optional[str] = None,
    *,
    view: Optional[View] = None,
) -> Optional[QA]:
    """One question of the given type, or None when it cannot be asked unambiguously here.
    `answer_mode` None = the type's default (oe for numeric types, mc otherwise). `view` lets a
    caller asking several questions of one episode reuse the per-episode facts."""
    qt = question_type(question_type_name)
    mode = qt.default_mode if answer_mode is None else answer_mode
    if mode not in qt.modes:
        raise ConfigError("answer_mode", f"{qt.name} supports {' or '.join(qt.modes)}, got {mode!r}")
    if view is None:
        view = View.build(episode)
    return qt.build(view, rng, mode)


def generate_all(episode: Episode, rng: np.random.Generator) -> list[QA]:
    """One question of every registered type that can be asked on this episode (default modes),
    in registry order."""
    view = View.build(episode)
    out = []
    for name in REGISTRY:
        qa = generate(episode, name, rng, view=view)
        if qa is not None:
            out.append(qa)
    return out


__all__ = [
    "QA",
    "QuestionType",
    "REGISTRY",
    "VSI_TO_OURS",
    "OURS_TO_VSI",
    "View",
    "generate",
    "generate_all",
    "question_type",
]
