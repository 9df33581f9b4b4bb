"""Temporal tracking: appearance_order (4 categories, mc) and temporal_order (2 objects, mc).

First appearance of a category = first frame where any of its instances is visible. A viewer may
place "appears" anywhere between the first pixel and the first clearly visible frame, so an order
is asked only when it is the same, with no two categories in the same frame, under both readings:
first frame with any visible pixel (> 0) and first frame covering more than NOTICEABLE_FRACTION.
Only categories with a salient instance are named. The categories are listed in the question in a
random order, independent of the answer.
"""

from __future__ import annotations

import itertools
from typing import Optional

import numpy as np

from .base import QuestionType, View, choose_distinct, mc_options, pick
from .record import QA

T_APPEARANCE = (
    "What will be the first-time appearance order of the following categories in the video: {c0}, {c1}, {c2}, {c3}?"
)
T_TEMPORAL = "Which of these objects ({c0}, {c1}) appears first in the video?"


def _timed_names(view: View) -> list[str]:
    return sorted(n for n in view.salient_by_name if n in view.first_any and n in view.first_noticeable)


def _before(view: View, a: str, b: str) -> Optional[bool]:
    """True if a clearly appears before b, False if clearly after, None if ambiguous."""
    ta, tb = view.first_any[a], view.first_any[b]
    na, nb = view.first_noticeable[a], view.first_noticeable[b]
    if ta < tb and na < nb:
        return True
    if ta > tb and na > nb:
        return False
    return None


def appearance_order(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    names = _timed_names(view)
    n = len(names)
    if n < 4:
        return None
    ok = np.zeros((n, n), dtype=bool)
    for i, j in itertools.combinations(range(n), 2):
        ok[i, j] = ok[j, i] = _before(view, names[i], names[j]) is not None
    quads = []
    for a in range(n):
        for b in range(a + 1, n):
            if not ok[a, b]:
                continue
            for c in range(b + 1, n):
                if not (ok[a, c] and ok[b, c]):
                    continue
                for d in range(c + 1, n):
                    if ok[a, d] and ok[b, d] and ok[c, d]:
                        quads.append((a, b, c, d))
    if not quads:
        return None
    chosen = [names[i] for i in pick(rng, quads)]
    order = sorted(chosen, key=lambda x: view.first_noticeable[x])
    perms = [list(p) for p in itertools.permutations(order) if list(p) != order]
    distract = choose_distinct(rng, perms, 3)
    options, letter, _ = mc_options(rng, ", ".join(order), [", ".join(p) for p in distract])
    listed = [chosen[int(i)] for i in rng.permutation(4)]
    question = T_APPEARANCE.format(c0=listed[0], c1=listed[1], c2=listed[2], c3=listed[3])
    ev = {
        "names": {"listed": listed},
        "order": order,
        "first_frame_any": {x: view.first_any[x] for x in order},
        "first_frame_noticeable": {x: view.first_noticeable[x] for x in order},
        "instance_ids": {
            x: sorted(i for i, nm in view.names.items() if nm == x and i in view.max_fraction) for x in order
        },
        "template": T_APPEARANCE,
        "candidates": len(quads),
    }
    return QA("appearance_order", question, letter, "mc", order, options, ev)


def temporal_order(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    names = _timed_names(view)
    pairs = [(a, b) for a, b in itertools.combinations(names, 2) if _before(view, a, b) is not None]
    if not pairs:
        return None
    a, b = pick(rng, pairs)
    first, second = (a, b) if _before(view, a, b) else (b, a)
    options, letter, ordered = mc_options(rng, first, [second])
    question = T_TEMPORAL.format(c0=ordered[0], c1=ordered[1])
    ev = {
        "names": {"listed": ordered},
        "order": [first, second],
        "first_frame_any": {x: view.first_any[x] for x in (first, second)},
        "first_frame_noticeable": {x: view.first_noticeable[x] for x in (first, second)},
        "template": T_TEMPORAL,
        "candidates": len(pairs),
    }
    return QA("temporal_order", question, letter, "mc", first, options, ev)


TYPES = [
    QuestionType(
        "appearance_order",
        "temporal",
        ("mc",),
        appearance_order,
        "obj_appearance_order",
        "first-time appearance order of 4 categories",
    ),
    QuestionType("temporal_order", "temporal", ("mc",), temporal_order, None, "which of two objects appears first"),
]
