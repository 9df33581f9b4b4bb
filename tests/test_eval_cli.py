"""Readers (VSI-Bench parquet/jsonl, our QA records, episode.json; several prediction layouts) and the
`simsv-stream eval` subcommand."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from qa_synth import synthetic_episode  # noqa: E402

from simsv_stream.cli import main  # noqa: E402
from simsv_stream.episode_json import dumps  # noqa: E402
from simsv_stream.errors import ConfigError  # noqa: E402
from simsv_stream.eval import evaluate, read_predictions, read_references, score, to_vsi_row  # noqa: E402
from simsv_stream.questions import generate_all  # noqa: E402

VSI_ROWS = [
    {
        "id": 1,
        "dataset": "arkitscenes",
        "scene_name": "s1",
        "question_type": "object_counting",
        "question": "How many chair(s) are in this room?",
        "options": None,
        "ground_truth": "4",
    },
    {
        "id": 2,
        "dataset": "arkitscenes",
        "scene_name": "s1",
        "question_type": "object_abs_distance",
        "question": "...",
        "options": None,
        "ground_truth": "2.0",
    },
    {
        "id": 3,
        "dataset": "scannet",
        "scene_name": "s2",
        "question_type": "object_rel_direction_easy",
        "question": "...",
        "options": ["A. left", "B. right"],
        "ground_truth": "B",
    },
    {
        "id": 4,
        "dataset": "scannet",
        "scene_name": "s2",
        "question_type": "object_rel_direction_hard",
        "question": "...",
        "options": ["A. front-left", "B. front-right", "C. back-left", "D. back-right"],
        "ground_truth": "C",
    },
    {
        "id": 5,
        "dataset": "scannetpp",
        "scene_name": "s3",
        "question_type": "obj_appearance_order",
        "question": "...",
        "options": ["A. a, b", "B. b, a", "C. x", "D. y"],
        "ground_truth": "A",
    },
    {
        "id": 6,
        "dataset": "scannetpp",
        "scene_name": "s3",
        "question_type": "route_planning",
        "question": "...",
        "options": ["A. Turn Left", "B. Turn Right", "C. Turn Back"],
        "ground_truth": "C",
    },
]
PREDS = {"1": "3", "2": "2.1 meters", "3": "B", "4": "D.", "5": "A. a, b", "6": "The answer is C"}
# object_count: 3 vs 4 -> 25% off -> 0.6; abs_distance 2.1 vs 2 -> 5% off -> 1.0 (5% <= 1 - 0.95)
# easy 1, hard 0 (medium absent) -> rel_direction 0.5; appearance 1; route 0 (lmms parsing) / 1 (lenient)
EXPECTED_LMMS = {
    "object_count": 0.6,
    "abs_distance": 1.0,
    "rel_direction_easy": 1.0,
    "rel_direction_hard": 0.0,
    "appearance_order": 1.0,
    "route_plan": 0.0,
}


def _write_parquet(path, rows):
    table = pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.int64()),
            "dataset": [r["dataset"] for r in rows],
            "scene_name": [r["scene_name"] for r in rows],
            "question_type": [r["question_type"] for r in rows],
            "question": [r["question"] for r in rows],
            "options": pa.array([r["options"] for r in rows], pa.list_(pa.string())),
            "ground_truth": [r["ground_truth"] for r in rows],
        }
    )
    pq.write_table(table, path)


def _jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def test_vsibench_parquet_and_jsonl_read_the_same(tmp_path):
    _write_parquet(tmp_path / "vsi.parquet", VSI_ROWS)
    _jsonl(tmp_path / "vsi.jsonl", VSI_ROWS)
    a = read_references(tmp_path / "vsi.parquet")
    b = read_references(tmp_path / "vsi.jsonl")
    assert a == b
    assert [r.question_type for r in a] == [
        "object_count",
        "abs_distance",
        "rel_direction_easy",
        "rel_direction_hard",
        "appearance_order",
        "route_plan",
    ]
    assert [r.answer_mode for r in a] == ["oe", "oe", "mc", "mc", "mc", "mc"]
    assert a[0].answer == 4.0 and a[2].answer == "B" and a[0].source_type == "object_counting"
    rep = evaluate(a, PREDS)
    got = {r.key: r.score for r in rep.rows}
    assert got == pytest.approx(EXPECTED_LMMS)
    tasks = [0.6, 1.0, 1.0, 0.0, 0.5]  # count, abs, appearance, route, rel_direction (1 + 0) / 2
    assert rep.overall == pytest.approx(sum(tasks) / len(tasks))
    assert evaluate(a, PREDS, parse="lenient").overall == pytest.approx((sum(tasks) + 1.0) / len(tasks))


def test_prediction_layouts(tmp_path):
    _jsonl(tmp_path / "p1.jsonl", [{"id": k, "prediction": v} for k, v in PREDS.items()])
    (tmp_path / "p2.json").write_text(json.dumps(PREDS))
    _jsonl(
        tmp_path / "p3.jsonl",
        [{"doc_id": 0, "doc": {"id": int(k)}, "filtered_resps": [v], "resps": [[v]]} for k, v in PREDS.items()],
    )
    _jsonl(tmp_path / "p4.jsonl", [{"question_id": int(k), "response": v} for k, v in PREDS.items()])
    for name in ("p1.jsonl", "p2.json", "p3.jsonl", "p4.jsonl"):
        assert read_predictions(tmp_path / name) == PREDS, name
    _jsonl(tmp_path / "bad.jsonl", [{"id": 1, "nothing": "x"}])
    with pytest.raises(ConfigError, match="no prediction field"):
        read_predictions(tmp_path / "bad.jsonl")


def test_our_qa_records_and_episode_json_as_references(tmp_path):
    qas = []
    for s in range(5):
        qas += generate_all(synthetic_episode(s), np.random.default_rng(s))
    rows = [{"id": f"q{i}", **q.to_dict()} for i, q in enumerate(qas)]
    _jsonl(tmp_path / "refs.jsonl", rows)
    refs = read_references(tmp_path / "refs.jsonl")
    perfect = {r["id"]: r["answer"] for r in rows}
    rep = evaluate(refs, perfect)
    # every mc answer exact; numeric answers are rounded text vs the exact ground truth: >= 0.9 each
    assert all(r.score == 1.0 for r in rep.rows if r.metric == "accuracy")
    assert all(r.score >= 0.9 for r in rep.rows if r.metric == "MRA")
    for r, q in zip(rows, qas):
        assert score(q, r["answer"]) == score(to_vsi_row(q, r["id"]), r["answer"])
    # episode.json with its qa list (ids = positions)
    ep = synthetic_episode(7)
    qa7 = generate_all(ep, np.random.default_rng(7))
    (tmp_path / "episode.json").write_text(dumps(ep, qa7))
    refs7 = read_references(tmp_path / "episode.json")
    assert [r.question_type for r in refs7] == [q.question_type for q in qa7]
    assert evaluate(refs7, {str(i): q.answer for i, q in enumerate(qa7)}).overall >= 0.95
    # VSI-format export round trip
    _jsonl(tmp_path / "vsi_export.jsonl", [to_vsi_row(q, i) for i, q in enumerate(qa7)])
    ex = read_references(tmp_path / "vsi_export.jsonl")
    assert [r.question_type for r in ex] == [q.question_type for q in qa7]


def test_cli_prints_table(tmp_path, capsys):
    _write_parquet(tmp_path / "vsi.parquet", VSI_ROWS)
    _jsonl(tmp_path / "preds.jsonl", [{"id": k, "prediction": v} for k, v in PREDS.items()])
    rc = main(
        [
            "eval",
            "--predictions",
            str(tmp_path / "preds.jsonl"),
            "--references",
            str(tmp_path / "vsi.parquet"),
            "--json",
            str(tmp_path / "scores.json"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["question", "type", "metric", "n", "score"]
    row = {ln.split()[0]: ln.split() for ln in lines if ln and ln.split()[0] in EXPECTED_LMMS}
    assert row["object_count"][1:] == ["MRA", "1", "60.00"]
    assert row["rel_direction_hard"][1:] == ["accuracy", "1", "0.00"]
    assert "overall (VSI-Bench)" in out and "rel_direction (mean of 3 levels)" in out
    saved = json.loads((tmp_path / "scores.json").read_text())
    assert saved["types"]["abs_distance"]["score"] == 1.0 and saved["parse"] == "lmms"
    rc = main(
        [
            "eval",
            "--predictions",
            str(tmp_path / "preds.jsonl"),
            "--references",
            str(tmp_path / "vsi.parquet"),
            "--parse",
            "lenient",
        ]
    )
    assert rc == 0 and "100.00" in capsys.readouterr().out.split("route_plan")[1].splitlines()[0]


def test_cli_errors_are_one_line(tmp_path):
    _jsonl(tmp_path / "preds.jsonl", [{"id": 1, "prediction": "A"}])
    (tmp_path / "broken.jsonl").write_text('{"id": 1, "question_type": "route_planning"\n')
    for refs, words in ((tmp_path / "missing.parquet", "no such file"), (tmp_path / "broken.jsonl", "not valid JSON")):
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "simsv_stream.cli",
                "eval",
                "--predictions",
                str(tmp_path / "preds.jsonl"),
                "--references",
                str(refs),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == 2
        assert p.stderr.startswith("error: references:") and words in p.stderr
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
