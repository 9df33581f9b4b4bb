"""What a worker runs to fill an order: ``simulate(seed, scales) -> episode`` and
``generate(episode, question_type, rng) -> QA | None``.

* ``procedural`` (default): :func:`simsv_stream.simulator.simulate` + :func:`simsv_stream.questions.generate`.
* ``noise``: deterministic synthetic frames and a made-up QA, in microseconds; for tests of the
  transport and dispatcher logic. Options: ``delay_s`` (sleep per episode, to model render latency),
  ``burn_s`` (busy CPU seconds per episode, to model a CPU-bound renderer),
  ``none_every`` (every n-th (episode, type) pair is not askable), ``static`` (reuse one cached frame
  buffer for every episode: zero pixel work, for transport benchmarks), ``fail_types`` (types
  whose generation raises).
* ``thor``: real AI2-THOR renders of ProcTHOR houses (:mod:`simsv_stream.scene.thor`; needs a GPU with
  Vulkan and the Unity build, checked by a preflight at worker start). Options: ``houses``,
  ``gpu_device`` (default: the worker's fleet slot round-robin over the visible GPUs).
* ``procthor-layout``: the same ProcTHOR houses on the CPU renderer (:mod:`simsv_stream.scene.procthor`).
* ``module:function``: a factory returning an object with ``simulate``/``generate`` (or the pair).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from ..config import Scales
from ..errors import ConfigError
from ..questions.record import QA


@dataclass
class Backend:
    name: str
    simulate: Callable[[int, Scales], Any]
    generate: Callable[[Any, str, np.random.Generator], QA | None]


# named backends that live outside the stream package, resolved like ``module:function``
NAMED_FACTORIES = {
    "thor": "simsv_stream.scene.thor:backend",
    "procthor-layout": "simsv_stream.scene.procthor:backend",
}


def get_backend(name: str, options: Mapping[str, Any] | None = None) -> Backend:
    options = dict(options or {})
    name = NAMED_FACTORIES.get(name, name)
    if name == "procedural":
        from .. import questions, simulator  # the real pipeline (pybullet renderer, question registry)

        if options:

            def sim(seed: int, scales: Scales, _f=simulator.simulate) -> Any:
                return _f(seed, scales, **options)
        else:
            sim = simulator.simulate
        return Backend(name, sim, questions.generate)
    if name == "noise":
        return noise_backend(**options)
    if ":" in name:
        mod, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError("backend", f"cannot load {name!r}: {e}") from None
        made = obj(**options) if callable(obj) and not hasattr(obj, "simulate") else obj
        if isinstance(made, tuple):
            return Backend(name, made[0], made[1])
        return Backend(name, made.simulate, made.generate)
    raise ConfigError(
        "backend", f"unknown backend {name!r} (known: procedural, noise, thor, procthor-layout, module:function)"
    )


# ----------------------------------------------------------------------------------------------
# noise backend (synthetic frames)


def noise_backend(
    delay_s: float = 0.0,
    none_every: int = 0,
    static: bool = False,
    fail_types: tuple[str, ...] | list[str] = (),
    burn_s: float = 0.0,
) -> Backend:
    cache: dict[tuple, np.ndarray] = {}

    def simulate(seed: int, scales: Scales) -> Any:
        t0 = time.perf_counter()
        shape = (scales.frames, scales.height, scales.width, 3)
        if static:
            rgb = cache.get(shape)
            if rgb is None:
                rgb = cache[shape] = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
                rgb.setflags(write=False)
        else:
            rgb = noise_frames(seed, shape)
        if delay_s:
            time.sleep(delay_s)
        if burn_s:
            _burn(burn_s)
        return SimpleNamespace(
            seed=seed, scales=scales, frames=SimpleNamespace(rgb=rgb), timings={"render": time.perf_counter() - t0}
        )

    def generate(episode: Any, question_type: str, rng: np.random.Generator) -> QA | None:
        if question_type in fail_types:
            raise RuntimeError(f"noise-backend failure for {question_type}")
        if none_every and (episode.seed + sum(map(ord, question_type))) % none_every == 0:
            return None
        value = int(rng.integers(0, 1000))
        return QA(
            question_type=question_type,
            question=f"noise {question_type} on episode {episode.seed}?",
            answer=str(value),
            answer_mode="oe",
            ground_truth=value,
            evidence={"episode_seed": int(episode.seed)},
        )

    return Backend("noise", simulate, generate)


def noise_frames(seed: int, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Deterministic frames: a per-episode colour gradient (cheap even at 384x384)."""
    t, h, w, _ = shape
    base = np.frombuffer(seed.to_bytes(8, "little"), dtype=np.uint8)
    yy = np.arange(h, dtype=np.uint8)[:, None]
    xx = np.arange(w, dtype=np.uint8)[None, :]
    out = np.empty(shape, dtype=np.uint8)
    for i in range(t):
        out[i, :, :, 0] = yy + base[0] + i
        out[i, :, :, 1] = xx + base[1]
        out[i, :, :, 2] = base[2] ^ (yy + xx)
    return out


def _burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU time (a stand-in for a CPU-bound renderer)."""
    t0 = time.thread_time()
    x = np.linspace(0.0, 1.0, 4096)
    while time.thread_time() - t0 < seconds:
        x = np.sqrt(x * x + 1e-3)
