"""Lightning callbacks of a streamed run: the curriculum schedule and the stream/throughput metrics.

`CurriculumCallback(schedule)`: applies each `ScheduleEntry(at_step, mix, scales)` through the stream's
Python control API (`Dispatcher.set_mix` / `set_scales`) at the start of training step `at_step`, and
logs the change with the first sample id it applies to (what the dispatcher returns: every order written
from that id on follows it; the samples already written or prefetched, at most credit x workers plus the
loader's prefetch, still follow the old one). Its checkpointed state is the number of entries applied; on
resume those entries are re-applied in order right after the stream state is restored, so the mix and
scales in force are the schedule's, whatever the restored snapshot held. A live
`simsv-stream mix set --endpoint E ...` works on top; the next schedule entry overrides it.

`StreamMetricsCallback(every_n_steps)`: every N optimizer steps, to every logger (CSV, TensorBoard):
loss (window mean), samples/s consumed (trained), samples/s produced (by the workers, from the
dispatcher's counters), orders in flight, data-wait fraction, per-type sample counts of the window
(from the batch meta, so a mix change is visible), render seconds per sample, workers connected and
orders re-issued (a worker crash shows here and as a logged event). The progress bar shows loss,
`wait` (data-wait fraction) and `sps` (samples/s).

Data wait is measured where it happens: the time the training loop spends blocked in the train
iterable's `next()` (StreamBatches.wait_s; Lightning fetches the next batch inside the step loop, between
one batch's end and the next one's start), divided by the wall time of the window. `loop_gap_frac` is
the whole time between a batch's end and the next batch's start (data wait plus checkpointing, logging
and the progress bar), for comparison.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Optional, Sequence

import lightning as L
import torch

log = logging.getLogger(__name__)


def _dm(trainer: "L.Trainer") -> Any:
    return getattr(trainer, "datamodule", None)


def _log_to_loggers(trainer: "L.Trainer", metrics: dict[str, float], step: int) -> None:
    if not trainer.is_global_zero:
        return
    for lg in trainer.loggers:
        lg.log_metrics(metrics, step=step)


def _describe(mix: Any, scales: Any) -> str:
    parts = []
    if mix is not None:
        if not isinstance(mix, str):
            mix = " ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in dict(mix).items())
        parts.append(f"mix {mix}")
    if scales:
        parts.append("scales " + " ".join(f"{k}={v}" for k, v in dict(scales).items()))
    return ", ".join(parts)


class CurriculumCallback(L.Callback):
    def __init__(self, schedule: Sequence[Any], verbose: bool = True) -> None:
        self.schedule = sorted(schedule, key=lambda e: e.at_step)
        self.applied = 0  # entries applied so far (checkpointed)
        self.events: list[dict[str, Any]] = []  # one per application (replays included)
        self.verbose = verbose
        self._registered = False

    @property
    def state_key(self) -> str:
        return "CurriculumCallback"

    def setup(self, trainer: "L.Trainer", pl_module: "L.LightningModule", stage: str) -> None:
        dm = _dm(trainer)
        if stage == "fit" and self.schedule and not self._registered and hasattr(dm, "after_restore"):
            dm.after_restore(lambda: self._replay(trainer))
            self._registered = True

    def _dispatcher(self, trainer: "L.Trainer") -> Any:
        d = getattr(_dm(trainer), "dispatcher", None)
        if d is None:
            from simsv_stream.errors import ConfigError

            raise ConfigError(
                "schedule",
                "a schedule needs the stream (its dispatcher applies the mix); this run's data source has none",
            )
        return d

    def _replay(self, trainer: "L.Trainer") -> None:
        for i in range(self.applied):
            self._apply(trainer, i, replay=True)

    def on_train_batch_start(
        self, trainer: "L.Trainer", pl_module: "L.LightningModule", batch: Any, batch_idx: int
    ) -> None:
        while self.applied < len(self.schedule) and self.schedule[self.applied].at_step <= trainer.global_step:
            self._apply(trainer, self.applied, replay=False)
            self.applied += 1

    def _apply(self, trainer: "L.Trainer", index: int, replay: bool) -> None:
        e = self.schedule[index]
        d = self._dispatcher(trainer)
        changes = []
        if e.mix is not None:
            changes.append(d.set_mix(e.mix))
        if e.scales:
            changes.append(d.set_scales(dict(e.scales)))
        first_id = min(int(c["first_id"]) for c in changes)
        event = {
            "entry": index,
            "at_step": e.at_step,
            "step": int(trainer.global_step),
            "rank": d.rank,
            "first_id": first_id,
            "versions": [c["version"] for c in changes],
            "mix": e.mix,
            "scales": e.scales,
            "replay": replay,
            "time": time.time(),
        }
        self.events.append(event)
        what = _describe(e.mix, e.scales)
        if replay:
            msg = (
                f"curriculum: re-applied schedule[{index}] (at_step {e.at_step}) after resume at step "
                f"{trainer.global_step}: {what}; applies from sample {first_id} (rank {d.rank})"
            )
        else:
            msg = (
                f"curriculum: step {trainer.global_step}: schedule[{index}] {what}; applies from sample "
                f"{first_id} (rank {d.rank})"
            )
        log.info(msg)
        if self.verbose and (trainer.is_global_zero or d.rank == 0):
            print(msg, flush=True)
        _log_to_loggers(
            trainer,
            {
                "curriculum/entry": float(index),
                "curriculum/first_id": float(first_id),
                "curriculum/version": float(max(event["versions"])),
            },
            int(trainer.global_step),
        )

    def state_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "at_steps": [e.at_step for e in self.schedule]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.applied = int(state_dict.get("applied", 0))
        saved = state_dict.get("at_steps")
        if saved is not None and saved[: self.applied] != [e.at_step for e in self.schedule][: self.applied]:
            log.warning(
                "curriculum: the checkpoint's schedule (%s) differs from this run's; re-applying this run's "
                "first %d entries",
                saved,
                self.applied,
            )


class StreamMetricsCallback(L.Callback):
    """See the module docstring. `every_n_steps=None`: the trainer's `log_every_n_steps`."""

    def __init__(self, every_n_steps: Optional[int] = None, progress_bar: bool = True) -> None:
        self.every_n_steps = every_n_steps
        self.progress_bar = progress_bar
        self.history: list[dict[str, float]] = []  # every flushed window (also in the loggers)
        self.events: list[str] = []
        self.summary: dict[str, float] = {}
        self._reset_window()
        self._t_first: Optional[float] = None
        self._wait_first = 0.0
        self._samples_total = 0
        self._last_end: Optional[float] = None
        self._batch_start: Optional[float] = None
        self._last_flush_step = -1
        self._workers: Optional[set[str]] = None
        self._show: dict[str, float] = {}

    def _reset_window(self, now: Optional[float] = None, wait_s: float = 0.0, produced: Optional[int] = None) -> None:
        self._w_t0 = now
        self._w_wait0 = wait_s
        self._w_produced0 = produced
        self._w_gap = 0.0
        self._w_losses: list[torch.Tensor] = []
        self._w_samples = 0
        self._w_types: Counter = Counter()
        self._w_render = 0.0

    @staticmethod
    def _wait_s(trainer: "L.Trainer") -> float:
        return float(getattr(_dm(trainer), "wait_s", 0.0) or 0.0)

    @staticmethod
    def _status(trainer: "L.Trainer") -> Optional[dict]:
        dm = _dm(trainer)
        fn = getattr(dm, "status", None)
        try:
            return fn() if callable(fn) else None
        except Exception:  # noqa: BLE001 - a closed stream must not break logging
            return None

    def on_train_start(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
        now = time.perf_counter()
        st = self._status(trainer)
        self._t_first = now
        self._wait_first = self._wait_s(trainer)
        self._reset_window(now, self._wait_first, st["produced"] if st else None)
        self._workers = {w["id"] for w in st["workers"]} if st else None
        self._last_flush_step = int(trainer.global_step)

    def on_train_batch_start(
        self, trainer: "L.Trainer", pl_module: "L.LightningModule", batch: Any, batch_idx: int
    ) -> None:
        now = time.perf_counter()
        if self._last_end is not None:
            self._w_gap += now - self._last_end
        self._batch_start = now

    def on_train_batch_end(
        self, trainer: "L.Trainer", pl_module: "L.LightningModule", outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        meta = batch.get("meta", []) if isinstance(batch, dict) else []
        self._w_samples += len(meta)
        self._samples_total += len(meta)
        for m in meta:
            self._w_types[m["question_type"]] += 1
            ref = m.get("sample")
            prov = getattr(getattr(ref, "sample", None), "provenance", None)
            self._w_render += float(getattr(prov, "render_s", 0.0) or 0.0)
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:  # kept on the device: read once per flush, not once per step
            self._w_losses.append(loss.detach() if torch.is_tensor(loss) else torch.tensor(float(loss)))
        step = int(trainer.global_step)
        n = self.every_n_steps or max(1, int(trainer.log_every_n_steps or 1))
        if step != self._last_flush_step and step % n == 0:
            self._flush(trainer, step)
        if self.progress_bar and self._show:
            for k, v in self._show.items():
                pl_module.log(k, v, prog_bar=True, logger=False, on_step=True, on_epoch=False, batch_size=1)
        self._last_end = time.perf_counter()

    def _flush(self, trainer: "L.Trainer", step: int) -> None:
        now = time.perf_counter()
        dt = max(1e-9, now - (self._w_t0 or now))
        wait_total = self._wait_s(trainer)
        wait = wait_total - self._w_wait0
        st = self._status(trainer)
        m: dict[str, float] = {
            "stream/samples_per_s_consumed": self._w_samples / dt,
            "stream/data_wait_frac": min(1.0, wait / dt),
            "stream/loop_gap_frac": min(1.0, self._w_gap / dt),
            "stream/step_s": dt / max(1, step - self._last_flush_step),
            "stream/render_s_per_sample": self._w_render / max(1, self._w_samples),
        }
        if self._w_losses:
            m["train/loss_window"] = float(torch.stack(self._w_losses).float().mean())
        for t, c in sorted(self._w_types.items()):
            m[f"types/{t}"] = float(c)
        produced = None
        if st is not None:
            produced = int(st["produced"])
            if self._w_produced0 is not None:
                m["stream/samples_per_s_produced"] = (produced - self._w_produced0) / dt
            m["stream/orders_in_flight"] = float(st["in_flight"])
            m["stream/written_not_consumed"] = float(st["written_not_consumed"])
            m["stream/workers"] = float(len(st["workers"]))
            m["stream/reissued"] = float(st["reissued"])
            m["stream/mix_version"] = float(st["mix_version"])
            self._worker_events(trainer, st, step)
        _log_to_loggers(trainer, m, step)
        self.history.append({"step": float(step), **m})
        self._show = {"wait": round(m["stream/data_wait_frac"], 3), "sps": round(m["stream/samples_per_s_consumed"], 1)}
        self._last_flush_step = step
        self._reset_window(now, wait_total, produced)

    def _worker_events(self, trainer: "L.Trainer", st: dict, step: int) -> None:
        ids = {w["id"] for w in st["workers"]}
        if self._workers is not None:
            for wid in sorted(self._workers - ids):
                msg = (
                    f"stream rank {st['rank']}: step {step}: worker {wid} left the stream "
                    f"({st['reissued']} order(s) re-issued so far; training continues)"
                )
                self.events.append(msg)
                log.warning(msg)
            for wid in sorted(ids - self._workers):
                msg = f"stream rank {st['rank']}: step {step}: worker {wid} joined"
                self.events.append(msg)
                log.info(msg)
        self._workers = ids

    def on_train_end(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
        if self._t_first is None:
            return
        wall = time.perf_counter() - self._t_first
        wait = self._wait_s(trainer) - self._wait_first
        self.summary = {
            "steps": float(trainer.global_step),
            "samples": float(self._samples_total),
            "wall_s": wall,
            "samples_per_s": self._samples_total / max(1e-9, wall),
            "data_wait_frac": wait / max(1e-9, wall),
        }

    def summary_line(self) -> str:
        s = self.summary
        if not s:
            return ""
        return (
            f"training: {int(s['samples'])} samples in {s['wall_s']:.1f} s ({s['samples_per_s']:.1f} samples/s "
            f"on this rank), data-wait fraction {s['data_wait_frac']:.3f}"
        )
