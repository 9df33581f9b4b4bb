"""A training sample as it leaves a worker and arrives in the trainer's pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .questions.record import QA


@dataclass(frozen=True)
class Provenance:
    """Everything needed to regenerate the sample bit for bit, plus where/how fast it was made."""

    sample_id: int
    seed: int  # run seed
    episode_seed: int  # seed of the rendered episode (several sample ids may share one)
    config_hash: str  # Scales.config_hash() in force when the order was written
    mix_version: int = 0  # which mix/scale change was in force when the order was written
    worker_id: str = ""
    render_s: float = 0.0  # seconds the worker spent producing the episode (0 when reused)
    timings: dict[str, float] = field(default_factory=dict)  # per-stage seconds


@dataclass(frozen=True)
class Sample:
    sample_id: int
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    qa: QA
    provenance: Provenance
