"""Independent re-derivation of every question type's answer from episode.json data.

Written separately from simsv_stream/questions on purpose: it reads only the plain episode dict
(issue 2's episode.json schema) and the QA's question text/options, finds the named objects by name
(a unique name must have exactly one salient instance), recomputes the geometry with its own formulas
(closest box points by per-axis gaps, shoelace areas, yaw-difference angles, first sightings) and
asserts the QA's answer, options and refusal margins. Nothing here imports the generator's helpers.
"""

from __future__ import annotations

import math
import re
from typing import Any

SAL = 0.05
NOTICE = 0.01
# episode.json rounds coordinates to 1e-4 m and angles to 1e-3 degrees: recomputed values may differ
# from the generator's (full precision) by that much
TOL = 2e-3  # metres (and relative, for numbers)
TOL_DEG = 0.1  # degrees


class Ep:
    def __init__(self, d: dict):
        self.d = d
        self.obj = {o["id"]: o for o in d["objects"]}
        self.maxf: dict[int, float] = {}
        for fr in d["frames"]:
            for k, v in fr["visible"].items():
                i = int(k)
                self.maxf[i] = max(self.maxf.get(i, 0.0), float(v))
        self.salient = {i for i, f in self.maxf.items() if f > SAL and i in self.obj}

    def name(self, i: int) -> str:
        return self.obj[i]["category"].replace("_", " ").lower()

    def salient_named(self, name: str) -> list[int]:
        return sorted(i for i in self.salient if self.name(i) == name)

    def noticeable_named(self, name: str) -> list[int]:
        return sorted(i for i, f in self.maxf.items() if f > NOTICE and i in self.obj and self.name(i) == name)

    def unique(self, name: str) -> dict:
        ids = self.salient_named(name)
        assert len(ids) == 1, f"{name!r} is named as unique but has salient instances {ids}"
        assert set(self.noticeable_named(name)) <= set(ids), f"{name!r}: a noticeable non-salient duplicate exists"
        return self.obj[ids[0]]

    def rooms_in_order(self) -> list[str]:
        out: list[str] = []
        for fr in sorted(self.d["frames"], key=lambda f: f["index"]):
            if fr["room"] is not None and fr["room"] not in out:
                out.append(fr["room"])
        return out

    def first(self, name: str, thr: float) -> int | None:
        for fr in sorted(self.d["frames"], key=lambda f: f["index"]):
            for k, v in fr["visible"].items():
                if int(k) in self.obj and self.name(int(k)) == name and float(v) > thr:
                    return fr["index"]
        return None


# ---------------------------------------------------------------------------------- geometry
def closest_points_distance(a: dict, b: dict) -> float:
    s = 0.0
    for k in range(3):
        lo_a, hi_a = a["center"][k] - a["size"][k] / 2, a["center"][k] + a["size"][k] / 2
        lo_b, hi_b = b["center"][k] - b["size"][k] / 2, b["center"][k] + b["size"][k] / 2
        gap = max(lo_b - hi_a, lo_a - hi_b, 0.0)
        s += gap * gap
    return math.sqrt(s)


def shoelace(poly) -> float:
    n = len(poly)
    return abs(sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1] for i in range(n))) / 2


def heading_deg(frm: dict, to: dict) -> float:
    """Yaw (0 = +z, 90 = +x) of the floor direction from one object's centre to another's."""
    return math.degrees(math.atan2(to["center"][0] - frm["center"][0], to["center"][2] - frm["center"][2]))


def wrap(a: float) -> float:
    a = (a + 180.0) % 360.0 - 180.0
    return 180.0 if a == -180.0 else a


def floor_dist(a: dict, b: dict) -> float:
    return math.hypot(a["center"][0] - b["center"][0], a["center"][2] - b["center"][2])


# ---------------------------------------------------------------------------------- checks
def option_texts(qa: dict) -> list[str]:
    out = []
    for k, o in enumerate(qa["options"]):
        assert o.startswith(f"{'ABCDEFGH'[k]}. "), o
        out.append(o[3:])
    return out


def chosen(qa: dict) -> str:
    return option_texts(qa)["ABCDEFGH".index(qa["answer"])]


def check_numeric(qa: dict, value: float, decimals: int, integer: bool = False) -> None:
    if integer:
        assert qa["ground_truth"] == int(round(value)), (qa["ground_truth"], value)
    else:
        assert abs(float(qa["ground_truth"]) - value) <= TOL * max(1.0, value), (qa["ground_truth"], value)
    if qa["answer_mode"] == "oe":
        assert qa["options"] is None
        shown = float(qa["answer"])
        assert abs(shown - value) <= 0.5 * 10 ** (-decimals) + TOL * max(1.0, value), (qa["answer"], value)
    else:
        vals = [float(t) for t in option_texts(qa)]
        assert len(vals) == 4 and len(set(vals)) == 4
        assert abs(float(chosen(qa)) - value) <= 0.5 * 10 ** (-decimals) + TOL * max(1.0, value), (chosen(qa), value)
        for v in vals:  # spread: every wrong option clearly away from the truth
            if v != float(chosen(qa)):
                assert (abs(v - value) >= 1) if integer else (abs(v - value) / value >= 0.2 - TOL), (v, value)


def check_qa(d: dict, qa: dict) -> None:
    """Assert that one QA record is correct and unambiguous on the episode dict `d`."""
    e = Ep(d)
    t, q = qa["question_type"], qa["question"]
    if qa["answer_mode"] == "mc":
        texts = option_texts(qa)
        assert len(set(texts)) == len(texts), "duplicate options"
        assert qa["answer"] in "ABCDEFGH"[: len(texts)]
    if t == "abs_distance":
        a, b = re.search(r"between the (.+) and the (.+) \(in meters\)\?$", q).groups()
        oa, ob = e.unique(a), e.unique(b)
        dist = closest_points_distance(oa, ob)
        assert dist >= 0.2 - TOL
        check_numeric(qa, dist, 1 if dist >= 1 else 2)
    elif t == "object_size":
        a = re.search(r"or height\) of the (.+), measured in centimeters\?$", q).group(1)
        o = e.unique(a)
        r = o["yaw_deg"] % 90.0
        assert min(r, 90 - r) <= 5.0 + TOL_DEG, "object_size asked for a rotated box"
        check_numeric(qa, max(o["size"]) * 100.0, 0)
    elif t == "room_size":
        rooms = {r["id"]: r for r in d["rooms"]}
        area = sum(shoelace(rooms[r]["polygon"]) for r in e.rooms_in_order())
        check_numeric(qa, area, 1)
    elif t == "rel_distance":
        choices, ref = re.search(r"which of these objects \((.+)\) is the closest to the (.+)\? If there", q).groups()
        choices = choices.split(", ")
        assert choices == option_texts(qa), "question lists choices in option order"
        r = e.unique(ref)
        assert ref not in choices
        dist = {}
        for c in choices:
            ids = e.salient_named(c)
            assert ids, f"choice {c!r} has no salient instance"
            assert set(e.noticeable_named(c)) <= set(ids)
            dist[c] = min(closest_points_distance(r, e.obj[i]) for i in ids)
        ans = chosen(qa)
        assert qa["ground_truth"] == ans
        for c in choices:
            if c != ans:
                assert dist[c] >= 1.1 * dist[ans] - TOL and dist[c] - dist[ans] >= 0.15 - TOL, (dist, ans)
    elif t.startswith("rel_direction_"):
        level = t.rsplit("_", 1)[1]
        p, o, qq = re.search(
            r"^If I am standing by the (.+?) and facing the (.+?), is the (.+?) to "
            r"(?:the left or|my left,|my front-left,)",
            q,
        ).groups()
        P, O, Q = e.unique(p), e.unique(o), e.unique(qq)  # noqa: E741 (the geometry's point names)
        assert len({p, o, qq}) == 3
        assert floor_dist(P, O) >= 0.75 - TOL and floor_dist(P, Q) >= 0.75 - TOL
        theta = wrap(heading_deg(P, Q) - heading_deg(P, O))  # + = to the right (yaw grows to the right)
        a = abs(theta)
        side = "right" if theta > 0 else "left"
        if level == "easy":
            expect, bounds = side, (0, 180)
            assert sorted(option_texts(qa)) == ["left", "right"]
        elif level == "medium":
            expect, bounds = ("back" if a > 135 else side), (0, 135)
            assert sorted(option_texts(qa)) == ["back", "left", "right"]
        else:
            expect, bounds = ("front-" if a < 90 else "back-") + side, (0, 90, 180)
            assert sorted(option_texts(qa)) == ["back-left", "back-right", "front-left", "front-right"]
        assert all(abs(a - b) >= 15.0 - TOL_DEG for b in bounds), f"angle {theta:.1f} within 15 deg of a boundary"
        assert chosen(qa) == expect == qa["ground_truth"], (chosen(qa), expect, theta)
    elif t == "route_plan":
        x, y, z = re.search(
            r"beginning at the (.+) facing the (.+)\. You want to navigate to the (.+?)\. You will", q
        ).groups()
        ways = re.findall(r"Go forward until the (.+?)\.", q)
        assert ways[-1] == z
        objs = [e.unique(n) for n in [x] + ways]
        Y = e.unique(y)
        assert abs(wrap(heading_deg(objs[0], objs[1]) - heading_deg(objs[0], Y))) <= 15.0 + TOL_DEG
        turns = []
        for k in range(1, len(objs) - 1):
            th = wrap(heading_deg(objs[k], objs[k + 1]) - heading_deg(objs[k - 1], objs[k]))
            if abs(th) >= 150 - TOL_DEG:
                turns.append("back")
            else:
                assert 45 - TOL_DEG <= abs(th) <= 120 + TOL_DEG, f"turn of {th:.1f} deg is not a clear turn"
                turns.append("right" if th > 0 else "left")
        for k in range(len(objs) - 1):
            assert floor_dist(objs[k], objs[k + 1]) >= 0.75 - TOL
        assert q.count("[please fill in]") == len(turns) + 1  # one in the note, one per turn
        assert chosen(qa) == ", ".join(f"Turn {s.capitalize()}" for s in turns), (chosen(qa), turns)
        assert qa["ground_truth"] == turns
    elif t in ("appearance_order", "temporal_order"):
        if t == "appearance_order":
            listed = re.search(r"in the video: (.+)\?$", q).group(1).split(", ")
            assert len(listed) == 4
        else:
            listed = list(re.search(r"objects \((.+), (.+)\) appears first", q).groups())
        for n in listed:
            assert e.salient_named(n), f"{n!r} has no salient instance"
        t_any = {n: e.first(n, 0.0) for n in listed}
        t_not = {n: e.first(n, NOTICE) for n in listed}
        assert len(set(t_any.values())) == len(listed) and len(set(t_not.values())) == len(listed), (
            "same-frame sighting"
        )
        order_any = sorted(listed, key=lambda n: t_any[n])
        order_not = sorted(listed, key=lambda n: t_not[n])
        assert order_any == order_not, "order differs between visibility thresholds"
        if t == "appearance_order":
            assert chosen(qa) == ", ".join(order_any)
            assert qa["ground_truth"] == order_any
            for opt in option_texts(qa):
                assert sorted(opt.split(", ")) == sorted(listed)
        else:
            assert option_texts(qa) == listed
            assert chosen(qa) == order_any[0] == qa["ground_truth"]
    elif t == "object_count":
        c = re.search(r"How many (.+)\(s\)", q).group(1)
        ids = e.salient_named(c)
        assert ids
        assert set(e.noticeable_named(c)) <= set(ids), "a noticeable non-salient instance makes the count debatable"
        check_numeric(qa, len(ids), 0, integer=True)
    elif t == "room_count":
        rooms = e.rooms_in_order()
        check_numeric(qa, len(rooms), 0, integer=True)
    else:
        raise AssertionError(f"unknown type {t}")


def named_ids(d: dict, qa: dict) -> set[int]:
    """Instance ids the QA's evidence says it used (for the salient-only check)."""
    ev = qa.get("evidence") or {}
    out: set[int] = set()
    for v in (ev.get("objects") or {}).values():
        out.add(int(v))
    for v in ev.get("waypoint_ids", []):
        out.add(int(v))
    return out


def as_dict(qa: Any) -> dict:
    return qa.to_dict() if hasattr(qa, "to_dict") else dict(qa)
