"""In-process sample sources for tests and offline smoke runs (no simulator, no stream).

`SyntheticSamples`: an endless (or bounded) iterable of `Sample`s with random frames and templated QA
records of several question types, unique increasing sample ids, reproducible from the seed. It stands
in for the stream in unit tests; the real run uses the stream's torchdata loader
(`trainers.datamodule.StreamDataModule`).

`SyntheticDataModule`: a LightningDataModule over SyntheticSamples with the module's collator; the
`stream.backend: synthetic` of a run config selects it.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import lightning as L
import numpy as np
import torch

from simsv_stream.questions.record import QA
from simsv_stream.sample import Provenance, Sample

from .tiny_model import CATEGORIES

_LETTERS = "ABCD"


def _qa(rng: np.random.Generator, kind: str) -> QA:
    cats = [str(c) for c in rng.choice(CATEGORIES, size=4, replace=False)]
    if kind == "abs_distance":
        d = round(float(rng.uniform(0.5, 6.0)), 1)
        return QA(
            kind,
            f"Measuring from the closest point of each object, what is the direct distance between "
            f"the {cats[0]} and the {cats[1]} (in meters)?",
            f"{d}",
            "oe",
            d,
        )
    if kind == "object_count":
        n = int(rng.integers(1, 6))
        return QA(kind, f"How many {cats[0]}(s) are in this room?", str(n), "oe", n)
    if kind == "appearance_order":
        orders = [list(rng.permutation(cats)) for _ in range(4)]
        k = int(rng.integers(0, 4))
        opts = [f"{_LETTERS[i]}. {', '.join(o)}" for i, o in enumerate(orders)]
        return QA(
            kind,
            "What will be the first-time appearance order of the following categories in the video: "
            f"{', '.join(cats)}?",
            _LETTERS[k],
            "mc",
            orders[k],
            options=opts,
        )
    if kind == "rel_direction_easy":
        k = int(rng.integers(0, 2))
        return QA(
            kind,
            f"If I am standing by the {cats[0]} and facing the {cats[1]}, is the {cats[2]} to my left or right?",
            _LETTERS[k],
            "mc",
            ["left", "right"][k],
            options=["A. left", "B. right"],
        )
    raise ValueError(kind)


class SyntheticSamples:
    """Random-frame samples with templated QA; `limit=None` is endless. Ids start at `first_id`."""

    KINDS = ("abs_distance", "appearance_order", "rel_direction_easy", "object_count")

    def __init__(
        self,
        seed: int = 0,
        frames: int = 4,
        height: int = 32,
        width: int = 32,
        kinds: Optional[tuple[str, ...]] = None,
        limit: Optional[int] = None,
        first_id: int = 0,
    ) -> None:
        self.seed, self.frames, self.height, self.width = seed, frames, height, width
        self.kinds = tuple(kinds or self.KINDS)
        self.limit, self.first_id = limit, first_id

    def sample(self, sample_id: int) -> Sample:
        rng = np.random.default_rng([self.seed, sample_id])
        frames = rng.integers(0, 256, size=(self.frames, self.height, self.width, 3), dtype=np.uint8)
        qa = _qa(rng, self.kinds[sample_id % len(self.kinds)])
        return Sample(sample_id, frames, qa, Provenance(sample_id, self.seed, sample_id, "synthetic"))

    def __iter__(self) -> Iterator[Sample]:
        i = self.first_id
        while self.limit is None or i < self.first_id + self.limit:
            yield self.sample(i)
            i += 1

    def take(self, n: int) -> list[Sample]:
        return [self.sample(self.first_id + i) for i in range(n)]


class _Iterable(torch.utils.data.IterableDataset):
    def __init__(self, source: SyntheticSamples) -> None:
        self.source = source

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.source)


class SyntheticDataModule(L.LightningDataModule):
    """Train on SyntheticSamples through `collate`; validate on a held-out id range (lists of Samples)."""

    def __init__(
        self,
        collate: Any,
        batch_size: int = 2,
        seed: int = 0,
        frames: int = 4,
        height: int = 32,
        width: int = 32,
        eval_samples: int = 0,
        eval_batch_size: int = 4,
    ) -> None:
        super().__init__()
        self.collate, self.batch_size = collate, batch_size
        self.train_source = SyntheticSamples(seed, frames, height, width)
        # held-out: a disjoint id range far above anything training reaches
        self.eval_source = SyntheticSamples(seed, frames, height, width, limit=eval_samples, first_id=1 << 40)
        self.eval_samples, self.eval_batch_size = eval_samples, eval_batch_size

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            _Iterable(self.train_source), batch_size=self.batch_size, collate_fn=self.collate
        )

    def val_dataloader(self) -> Any:
        if not self.eval_samples:
            return []
        return torch.utils.data.DataLoader(
            self.eval_source.take(self.eval_samples), batch_size=self.eval_batch_size, collate_fn=list
        )
