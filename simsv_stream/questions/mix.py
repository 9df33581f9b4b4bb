"""Question-type mixes: named presets or explicit weights, validated, normalized.

    Mix.parse("3q")                                    # SIMS-V's minimal mix
    Mix.parse("vsi") / Mix.parse("all")
    Mix.parse({"abs_distance": 2, "appearance_order": 1})
    Mix.parse("abs_distance=0.5 appearance_order=0.5")  # also comma-separated
    Mix.parse("appearance_order")                      # one type only
    Mix.parse(mix.to_dict())                           # round trip

Presets:
* ``3q``  — SIMS-V's minimal mix, proportional to their 25K target: abs_distance 8616,
  appearance_order 6384, rel_direction_medium 3905, rel_direction_hard 3853, rel_direction_easy 2242.
* ``vsi`` — VSI-Bench's 8 tasks equally weighted; relative direction is one task there, so its
  easy/medium/hard levels share that task's eighth (1/24 each).
* ``all`` — every registered type equally.

A weight of 0 switches a type off (it is dropped from `.weights`). Unknown type, negative, non-finite
or non-numeric weight, no weights, all-zero weights: ConfigError naming the offender.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Union

import numpy as np

from ..errors import ConfigError
from . import REGISTRY

SIMSV_3Q_COUNTS = {
    "abs_distance": 8616,
    "appearance_order": 6384,
    "rel_direction_medium": 3905,
    "rel_direction_hard": 3853,
    "rel_direction_easy": 2242,
}

VSI_TASKS = {
    "object_count": 1.0,
    "abs_distance": 1.0,
    "object_size": 1.0,
    "room_size": 1.0,
    "rel_distance": 1.0,
    "rel_direction_easy": 1.0 / 3.0,
    "rel_direction_medium": 1.0 / 3.0,
    "rel_direction_hard": 1.0 / 3.0,
    "route_plan": 1.0,
    "appearance_order": 1.0,
}


def presets() -> dict[str, dict[str, float]]:
    return {
        "3q": {k: float(v) for k, v in SIMSV_3Q_COUNTS.items()},
        "vsi": dict(VSI_TASKS),
        "all": {name: 1.0 for name in REGISTRY},
    }


Spec = Union[str, Mapping[str, Any], "Mix"]


@dataclass(frozen=True)
class Mix:
    name: str  # preset name, or "custom"
    weights_items: tuple[tuple[str, float], ...]  # normalized, > 0, registry order

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.weights_items)

    @property
    def types(self) -> list[str]:
        return [k for k, _ in self.weights_items]

    # ------------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, spec: Spec) -> "Mix":
        if isinstance(spec, Mix):
            return spec
        if isinstance(spec, Mapping):
            if "weights" in spec and isinstance(spec.get("weights"), Mapping):
                mix = cls.from_weights(spec["weights"])
                name = spec.get("name")
                if isinstance(name, str) and name in presets():
                    preset = cls.parse(name)
                    if [k for k, _ in preset.weights_items] == mix.types and all(
                        math.isclose(a, b, rel_tol=1e-9)
                        for (_, a), (_, b) in zip(preset.weights_items, mix.weights_items)
                    ):
                        return preset
                return mix
            return cls.from_weights(spec)
        if not isinstance(spec, str):
            raise ConfigError(
                "mix", f"expected a preset name, a {{type: weight}} mapping or 'type=w ...', got {spec!r}"
            )
        text = spec.strip()
        if not text:
            raise ConfigError("mix", f"empty mix; presets: {', '.join(presets())}")
        table = presets()
        if text in table:
            return cls(text, _normalize(table[text]))
        tokens = text.replace(",", " ").split()
        if len(tokens) == 1 and "=" not in tokens[0]:
            if tokens[0] in REGISTRY:
                return cls.from_weights({tokens[0]: 1.0})
            raise ConfigError(
                "mix",
                f"unknown preset or question type {tokens[0]!r}; presets: "
                f"{', '.join(table)}; types: {', '.join(REGISTRY)}",
            )
        weights: dict[str, Any] = {}
        for tok in tokens:
            key, sep, value = tok.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError("mix", f"expected TYPE=WEIGHT, got {tok!r}")
            if key in weights:
                raise ConfigError(f"mix.{key}", "given twice")
            weights[key] = value.strip()
        return cls.from_weights(weights)

    @classmethod
    def from_weights(cls, weights: Mapping[str, Any]) -> "Mix":
        if not weights:
            raise ConfigError("mix", "no question types given")
        clean: dict[str, float] = {}
        for key, raw in weights.items():
            if key not in REGISTRY:
                raise ConfigError(f"mix.{key}", f"unknown question type {key!r}; known: {', '.join(REGISTRY)}")
            w = _weight(key, raw)
            clean[key] = w
        if not any(w > 0 for w in clean.values()):
            raise ConfigError(
                "mix", f"all weights are zero ({', '.join(f'{k}=0' for k in clean)}); at least one must be > 0"
            )
        return cls("custom", _normalize(clean))

    # ------------------------------------------------------------------------------------------
    def choose(self, rng: np.random.Generator) -> str:
        """A question type drawn with the mix's probabilities (one rng.random() draw)."""
        u = float(rng.random())
        acc = 0.0
        for name, w in self.weights_items:
            acc += w
            if u < acc:
                return name
        return self.weights_items[-1][0]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weights": self.weights}

    def spec(self) -> str:
        """The mix as a `type=weight ...` string (or the preset name)."""
        if self.name != "custom":
            return self.name
        return " ".join(f"{k}={w:.6g}" for k, w in self.weights_items)

    def __str__(self) -> str:
        return self.spec()


def _weight(key: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f"mix.{key}", f"weight must be a number, got {raw!r}")
    try:
        w = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"mix.{key}", f"weight must be a number, got {raw!r}") from None
    if not math.isfinite(w):
        raise ConfigError(f"mix.{key}", f"weight must be finite, got {raw!r}")
    if w < 0:
        raise ConfigError(f"mix.{key}", f"weight must be >= 0, got {raw!r}")
    return w


def _normalize(weights: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    total = sum(weights.values())
    order = [k for k in REGISTRY if weights.get(k, 0.0) > 0]
    return tuple((k, weights[k] / total) for k in order)


__all__ = ["Mix", "SIMSV_3Q_COUNTS", "VSI_TASKS", "presets"]
