"""Deterministic pieces of a work order: seeds, question-type choice, the mix in force.

A sample is a pure function of its order: ``(run seed, sample id, question type, episode seed,
attempt, scales)``; the question type is itself a pure function of ``(run seed, sample id, mix)``.
So a re-issued or resumed order produces the same sample, whichever worker fills it.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import numpy as np

_MASK63 = (1 << 63) - 1
TAG_EPISODE = 1
TAG_MIX = 2
TAG_QUESTION = 3
TAG_RETRY = 4


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across processes, platforms and Python versions)."""
    data = struct.pack(f"<{len(parts)}q", *[int(p) & _MASK63 for p in parts])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & _MASK63


def episode_seed(run_seed: int, first_sample_id: int) -> int:
    """Seed of the episode rendered for the group of orders starting at ``first_sample_id``."""
    return derive_seed(TAG_EPISODE, run_seed, first_sample_id)


def retry_episode_seed(group_episode_seed: int, sample_id: int, attempt: int) -> int:
    """Episode for attempt > 0 of an order whose question type could not be asked (generate -> None)."""
    if attempt == 0:
        return group_episode_seed
    return derive_seed(TAG_RETRY, group_episode_seed, sample_id, attempt)


def question_rng(run_seed: int, sample_id: int, attempt: int) -> np.random.Generator:
    return np.random.default_rng(derive_seed(TAG_QUESTION, run_seed, sample_id, attempt))


class _OneDraw:
    """A stand-in for np.random.Generator offering one uniform draw (Mix.choose takes exactly one
    ``rng.random()``); 20x cheaper than building a Generator per order."""

    __slots__ = ("u",)

    def __init__(self, seed: int):
        self.u = (seed >> 10) / float(1 << 53)  # 53 random bits -> [0, 1)

    def random(self) -> float:
        return self.u


def choose_type(mix: Any, run_seed: int, sample_id: int) -> str:
    """The question type of sample ``sample_id`` under ``mix`` (deterministic)."""
    return mix.choose(_OneDraw(derive_seed(TAG_MIX, run_seed, sample_id)))


def load_mix(spec: Any):
    """Mix.parse(spec) for a preset name, 'a=0.5 b=0.5' text, a mapping, or an existing Mix."""
    from ..questions.mix import Mix

    return Mix.parse(spec)


def mix_weights(mix: Any) -> dict[str, float]:
    """The mix as {question type: weight} (for status and logs)."""
    return {str(k): float(v) for k, v in dict(mix.weights).items()}
