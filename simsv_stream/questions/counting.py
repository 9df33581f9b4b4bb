"""Counting and layout: object_count and room_count (numeric, oe by default, mc possible).

object_count counts the salient instances of a category (SIMS-V: counts use the salient instances,
not every object in the house), and only for "clear" categories: no instance of the category is
noticeable in the video without being salient, so the count a viewer sees is the count asked.
The category is drawn so that the count values are balanced (a count value first, uniformly among
those the episode offers, then a category with that count); otherwise "1" would dominate.

room_count counts the rooms the camera walks through (Episode.rooms_visited); a room the camera
stands in for fewer than MIN_FRAMES_PER_ROOM frames (a doorway glimpse) makes the count debatable,
so the question is refused.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .base import NumericSpec, QuestionType, View, numeric_qa, pick_balanced
from .record import QA

COUNT = NumericSpec(decimals=lambda v: 0, integer=True, minimum=1)
MIN_COUNT = 1
MIN_FRAMES_PER_ROOM = 2

T_COUNT_ROOM = "How many {c}(s) are in this room?"
T_COUNT_VIDEO = "How many {c}(s) appear in this video?"
T_ROOMS = "How many different rooms does the camera walk through in this video?"


def object_count(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    groups: dict[int, list[str]] = {}
    for name in sorted(view.clear_names):
        k = len(view.salient_by_name[name])
        if k >= MIN_COUNT:
            groups.setdefault(k, []).append(name)
    if not groups:
        return None
    count, name = pick_balanced(rng, groups)
    ids = list(view.salient_by_name[name])
    rooms = {view.objects[i].room for i in ids}
    one_room = len(view.rooms_visited) == 1 and rooms == {view.rooms_visited[0]}
    template = T_COUNT_ROOM if one_room else T_COUNT_VIDEO
    ev = {"names": {"category": name}, "instance_ids": ids, "value": count}
    return numeric_qa(rng, "object_count", template.format(c=name), count, COUNT, mode, ev, template)


def room_count(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    rooms = view.rooms_visited
    if not rooms or any(view.frames_in_room.get(r, 0) < MIN_FRAMES_PER_ROOM for r in rooms):
        return None
    ev = {"rooms": list(rooms), "frames_per_room": {r: view.frames_in_room[r] for r in rooms}, "value": len(rooms)}
    return numeric_qa(rng, "room_count", T_ROOMS, len(rooms), COUNT, mode, ev, T_ROOMS)


TYPES = [
    QuestionType(
        "object_count",
        "counting",
        ("oe", "mc"),
        object_count,
        "object_counting",
        "how many salient instances of a category appear",
    ),
    QuestionType("room_count", "counting", ("oe", "mc"), room_count, None, "how many rooms the walkthrough visits"),
]
