"""VSI-Bench metrics: MRA by hand and against lmms-eval's formula, answer parsing, score(), the
per-type aggregation with VSI-Bench's overall."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simsv_stream.errors import ConfigError
from simsv_stream.eval import Reference, evaluate, mra, parse_letter, parse_number, score
from simsv_stream.questions.record import QA


def lmms_mra(pred, target, start=0.5, end=0.95, interval=0.05):
    """lmms-eval's vsibench `mean_relative_accuracy`, restated here as the reference."""
    num_pts = (end - start) / interval + 2
    conf_intervs = np.linspace(start, end, int(num_pts))
    accuracy = abs(pred - target) / target <= 1 - conf_intervs
    return accuracy.mean()


@pytest.mark.parametrize(
    "pred,gt,expected",
    [
        (10.0, 10.0, 1.0),
        (10.4, 10.0, 1.0),  # 4% off: every threshold (1 - 0.95 = 5%)
        (10.6, 10.0, 0.9),  # 6% off: all but theta = 0.95
        (12.1, 10.0, 0.6),  # 21% off: theta in 0.50..0.75
        (7.9, 10.0, 0.6),  # 21% under
        (13.6, 10.0, 0.3),  # 36% off: theta in 0.50..0.60
        (15.0, 10.0, 0.1),  # exactly 50% off: counts once with <= (lmms-eval), never with <
        (5.0, 10.0, 0.1),
        (15.1, 10.0, 0.0),
        (0.0, 10.0, 0.0),
        (-10.0, 10.0, 0.0),
        (1000.0, 10.0, 0.0),
    ],
)
def test_mra_by_hand(pred, gt, expected):
    assert mra(pred, gt) == pytest.approx(expected)


def test_mra_le_versus_strict():
    assert mra(15.0, 10.0) == pytest.approx(0.1)
    assert mra(15.0, 10.0, strict=True) == 0.0
    assert mra(12.1, 10.0, strict=True) == pytest.approx(0.6)


def test_mra_matches_lmms_eval_bit_for_bit():
    rng = np.random.default_rng(0)
    gts = rng.uniform(0.1, 50, 3000)
    preds = gts * rng.uniform(0.3, 1.7, 3000)
    # plus values exactly on the thresholds, where float rounding of 1 - theta decides
    edge_gt = np.array([10.0, 20.0, 100.0, 4.0, 2.0, 1.0, 8.0])
    edge = [(g * (1 + s * k * 0.05), g) for g in edge_gt for k in range(1, 11) for s in (1, -1)]
    for p, g in list(zip(preds, gts)) + edge:
        assert mra(float(p), float(g)) == float(lmms_mra(float(p), float(g))), (p, g)


def test_mra_degenerate_inputs():
    assert mra(None, 3.0) == 0.0
    assert mra(float("nan"), 3.0) == 0.0
    assert mra(float("inf"), 3.0) == 0.0
    assert mra(0.0, 0.0) == 1.0 and mra(0.1, 0.0) == 0.0


@pytest.mark.parametrize(
    "text,lmms,lenient",
    [
        ("B", "B", "B"),
        ("b", "B", None),  # lmms-eval compares case-insensitively
        ("B.", "B", "B"),
        ("B. sofa", "B", "B"),
        ("(B)", "(B)", "B"),
        ("B) sofa", "B)", "B"),
        ("The answer is B.", "THE", "B"),
        ("Answer: C", "ANSWER:", "C"),
        ("back-left", "BACK-LEFT", "D"),  # an option's text
        ("a sofa", "A", None),
        ("", None, None),
    ],
)
def test_parse_letter(text, lmms, lenient):
    opts = ["A. front-left", "B. front-right", "C. back-right", "D. back-left"]
    assert parse_letter(text, opts, "lmms") == lmms
    assert parse_letter(text, opts, "lenient") == lenient


@pytest.mark.parametrize(
    "text,lmms,lenient",
    [
        ("3.5", 3.5, 3.5),
        ("3.5 meters", 3.5, 3.5),
        ("3.5m", None, 3.5),
        ("About 3.5 m", None, 3.5),
        ("1,250 cm", None, 1250.0),
        ("three", None, 3.0),
        ("It is 12.", None, 12.0),
        ("nothing", None, None),
        (4, 4.0, 4.0),
    ],
)
def test_parse_number(text, lmms, lenient):
    assert parse_number(text, "lmms") == lmms
    assert parse_number(text, "lenient") == lenient


def test_score_qa_and_type_names():
    mc = QA(
        "rel_direction_hard",
        "q?",
        "C",
        "mc",
        "back-right",
        ["A. front-left", "B. front-right", "C. back-right", "D. back-left"],
    )
    oe = QA("abs_distance", "q?", "2.0", "oe", 2.0)
    assert score(mc, "C") == 1.0 and score(mc, "c.") == 1.0 and score(mc, "A") == 0.0
    assert score(mc, "The answer is C") == 0.0 and score(mc, "The answer is C", parse="lenient") == 1.0
    assert score(mc, "back-right", parse="lenient") == 1.0
    assert score(oe, "2.0") == 1.0 and score(oe, "2.42 meters") == pytest.approx(0.6)
    assert score(oe, "far away") == 0.0
    assert score("object_abs_distance", "2.42", ground_truth="2.0") == pytest.approx(0.6)
    assert score("abs_distance", "2.42", ground_truth=2.0) == pytest.approx(0.6)
    assert score("obj_appearance_order", "B", ground_truth="B") == 1.0
    assert score("abs_distance", "B", ground_truth="B") == 1.0  # a numeric type asked as mc
    assert score({"question_type": "object_counting", "options": None, "ground_truth": "4"}, "3") == pytest.approx(
        0.6
    )  # 25% off
    with pytest.raises(ConfigError):
        score("object_abs_distanse", "1", ground_truth=1)
    with pytest.raises(ConfigError):
        score("abs_distance", "1")
    with pytest.raises(ConfigError):
        score(oe, "1", parse="fuzzy")


def test_evaluate_overall_merges_relative_directions():
    refs = [
        Reference("1", "object_count", "oe", 4.0),
        Reference("2", "rel_direction_easy", "mc", "A", ("A. left", "B. right")),
        Reference("3", "rel_direction_easy", "mc", "B", ("A. left", "B. right")),
        Reference("4", "rel_direction_medium", "mc", "A", ("A. left", "B. right", "C. back")),
        Reference("5", "rel_direction_hard", "mc", "D", ("A. a", "B. b", "C. c", "D. d")),
        Reference("6", "abs_distance", "mc", "B", ("A. 1.0", "B. 2.0", "C. 3.0", "D. 4.0")),
    ]
    preds = {"1": "4", "2": "A", "3": "A", "4": "A", "5": "A", "99": "A"}  # 6 missing, 99 unknown
    rep = evaluate(refs, preds)
    rows = {r.key: r for r in rep.rows}
    assert rows["object_count"].score == 1.0 and rows["object_count"].metric == "MRA"
    assert rows["rel_direction_easy"].score == 0.5 and rows["rel_direction_easy"].n == 2
    assert rows["rel_direction_medium"].score == 1.0 and rows["rel_direction_hard"].score == 0.0
    assert rows["abs_distance[mc]"].score == 0.0 and rows["abs_distance[mc]"].missing == 1
    assert rep.rel_direction == pytest.approx(0.5)
    # tasks: object_count 1.0, abs_distance[mc] 0.0, rel_direction (0.5 + 1.0 + 0.0) / 3 = 0.5
    assert rep.overall == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert rep.mean_per_type == pytest.approx((1.0 + 0.5 + 1.0 + 0.0 + 0.0) / 5)
    assert rep.missing == 1 and rep.unmatched == 1 and rep.n == 6
    table = rep.table()
    assert "overall (VSI-Bench)" in table and "rel_direction_easy" in table and "50.00" in table
    assert math.isclose(rep.to_dict()["overall"], rep.overall)
