"""Bias checks on >= 2,000 multiple-choice questions per type from real simulated episodes
(procedural backend, rendered at 112x112 to keep the test short; visible fractions, hence salience,
do not depend on the resolution beyond pixel rounding).

1. The correct letter is uniform over the offered letters: chi-square p > 0.01 per type.
2. Blind guessers that never see the video, trained on the questions of even-seed episodes and
   scored on odd-seed episodes, stay near chance:
   * template majority (the issue's definition): per question template, answer with the most
     frequent correct *content* (e.g. "left", "chair", an order), else a random letter;
   * letter majority per template;
   * option prior (stronger): per template, pick the offered option whose content was most often
     correct when offered (category priors such as "the closest object is usually a chair"; for
     orders, pairwise first-before-second rates; for numbers, the option's rank among the four).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from scipy.stats import chisquare

from simsv_stream.config import Scales
from simsv_stream.questions import REGISTRY, View, generate
from simsv_stream.simulator import simulate

N_EPISODES = 300
TARGET = 2000
SCALES = Scales(width=112, height=112)
ORDER_TYPES = ("appearance_order",)


def _content(option: str) -> str:
    return option.split(". ", 1)[1]


@pytest.fixture(scope="module")
def questions():
    eps = [simulate(s, SCALES) for s in range(N_EPISODES)]
    views = [View.build(ep) for ep in eps]
    out: dict[str, list[dict]] = {}
    for name in REGISTRY:
        recs: list[dict] = []
        for k in range(200):  # rounds over all episodes until TARGET questions
            for ep, v in zip(eps, views):
                qa = generate(ep, name, np.random.default_rng([ep.seed, k, 7]), "mc", view=v)
                if qa is None:
                    continue
                recs.append(
                    {
                        "seed": ep.seed,
                        "template": qa.evidence["template"],
                        "question": qa.question,
                        "options": [_content(o) for o in qa.options],
                        "letter": qa.answer,
                        "answer": _content(qa.options[ord(qa.answer) - 65]),
                    }
                )
            if len(recs) >= TARGET:
                break
        out[name] = recs
    return out


def _chance(recs):
    return float(np.mean([1.0 / len(r["options"]) for r in recs]))


def test_correct_letter_is_uniform(questions, capsys):
    lines = []
    for name, recs in questions.items():
        assert len(recs) >= TARGET
        letters = "ABCD"
        obs = Counter(r["letter"] for r in recs)
        exp = Counter()
        for r in recs:
            for k in range(len(r["options"])):
                exp[letters[k]] += 1.0 / len(r["options"])
        keys = [c for c in letters if exp[c] > 0]
        stat, p = chisquare([obs[c] for c in keys], [exp[c] for c in keys])
        lines.append(f"  {name:22s} n={len(recs):5d}  letters {dict(sorted(obs.items()))}  chi2={stat:6.2f}  p={p:.3f}")
        assert p > 0.01, (name, dict(obs), p)
    with capsys.disabled():
        print("\ncorrect-letter uniformity (mc, simulated episodes):\n" + "\n".join(lines))


def _split(recs):
    train = [r for r in recs if r["seed"] % 2 == 0]
    test = [r for r in recs if r["seed"] % 2 == 1]
    return train, test


def template_majority(train, test, rng):
    maj = {}
    by_t = defaultdict(Counter)
    for r in train:
        by_t[r["template"]][r["answer"]] += 1
    for t, c in by_t.items():
        maj[t] = c.most_common(1)[0][0]
    hits = 0
    for r in test:
        m = maj.get(r["template"])
        pick = r["options"].index(m) if m in r["options"] else int(rng.integers(len(r["options"])))
        hits += r["options"][pick] == r["answer"]
    return hits / len(test)


def letter_majority(train, test, rng):
    by_t = defaultdict(Counter)
    for r in train:
        by_t[r["template"]][r["letter"]] += 1
    hits = 0
    for r in test:
        c = by_t.get(r["template"])
        letter = c.most_common(1)[0][0] if c else "A"
        hits += letter == r["letter"]
    return hits / len(test)


def _numeric(r) -> bool:
    try:
        [float(o) for o in r["options"]]
        return True
    except ValueError:
        return False


def option_prior(train, test, rng, name):
    """Score each offered option by how often that content was correct when offered (per template)."""
    if name in ORDER_TYPES:
        before = Counter()
        seen = Counter()
        for r in train:
            order = r["answer"].split(", ")
            for i, a in enumerate(order):
                for b in order[i + 1 :]:
                    before[(a, b)] += 1
                    seen[(a, b)] += 1
                    seen[(b, a)] += 1

        def score(r, opt):
            order = opt.split(", ")
            s = 0.0
            for i, a in enumerate(order):
                for b in order[i + 1 :]:
                    s += math.log((before[(a, b)] + 1) / (seen[(a, b)] + 2))
            return s
    elif all(_numeric(r) for r in train[:50]):
        rank_hits = defaultdict(Counter)
        for r in train:
            vals = sorted(float(o) for o in r["options"])
            rank_hits[r["template"]][vals.index(float(r["answer"]))] += 1

        def score(r, opt):
            vals = sorted(float(o) for o in r["options"])
            return rank_hits[r["template"]][vals.index(float(opt))]
    else:
        offered = Counter()
        correct = Counter()
        for r in train:
            for o in r["options"]:
                offered[(r["template"], o)] += 1
            correct[(r["template"], r["answer"])] += 1

        def score(r, opt):
            k = (r["template"], opt)
            return (correct[k] + 1) / (offered[k] + len(r["options"]))

    hits = 0
    for r in test:
        scores = np.array([score(r, o) for o in r["options"]], dtype=float)
        best = np.flatnonzero(scores == scores.max())
        pick = int(best[int(rng.integers(len(best)))])
        hits += r["options"][pick] == r["answer"]
    return hits / len(test)


# Integer answers asked as multiple choice (an extension: VSI-Bench asks counts open-ended) carry the
# answer prior of the houses themselves: in procedural houses most clear categories have exactly one
# salient instance and 1-3 rooms are visited, so "pick the option that is a typical count" beats
# chance. That is a property of the scenes, not of option placement (the correct rank is uniform, see
# numeric_mc_values); it is reported, and only the letter guesser is held to chance for these.
PRIOR_BOUND = {"object_count", "room_count"}


def test_blind_guessers_stay_near_chance(questions, capsys):
    rng = np.random.default_rng(0)
    lines, failures = [], []
    for name, recs in questions.items():
        train, test = _split(recs)
        chance = _chance(test)
        a = template_majority(train, test, rng)
        b = letter_majority(train, test, rng)
        c = option_prior(train, test, rng, name)
        note = "  (answer prior of the scenes; see PRIOR_BOUND)" if name in PRIOR_BOUND else ""
        lines.append(
            f"  {name:22s} n_test={len(test):5d} chance {chance:.3f}  template-majority {a:.3f}  "
            f"letter-majority {b:.3f}  option-prior {c:.3f}{note}"
        )
        if b > chance + 0.05:
            failures.append((name, "letter-majority", b, chance))
        if name in PRIOR_BOUND:
            continue
        if a > chance + 0.06:  # the blind guesser: near chance
            failures.append((name, "template-majority", a, chance))
        if c > chance + 0.10:  # the stronger prior-based guesser: bounded too
            failures.append((name, "option-prior", c, chance))
    with capsys.disabled():
        print("\nblind guessers (train on even seeds, test on odd seeds):\n" + "\n".join(lines))
    assert not failures, failures
