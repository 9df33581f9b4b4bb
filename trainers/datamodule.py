"""`StreamDataModule`: the LightningDataModule that owns the stream (dispatcher + local worker fleet).

Lifecycle
* `setup("fit")`: generates the held-out eval set once (a second, short-lived dispatcher on the reserved
  eval seed, see `generate_eval_set`), then starts this rank's dispatcher and fleet and prints its data
  and control endpoints (`simsv-stream mix set --endpoint CONTROL ...` works during training).
* `teardown("fit")`, `on_exception` (any exception in fit, Ctrl-C included): the dispatcher is closed,
  which stops and reaps every worker process. `setup("validate")` after fit needs no workers (the eval
  set is kept), so `trainer.validate` after `trainer.fit` does not restart the fleet.

DDP: rank and world size come from the trainer, so every rank runs its own dispatcher and fleet and gets
the ids `rank, rank + world, ...` of the same run seed: no two ranks see the same sample.

Resume: Lightning fetches one batch ahead of the step it runs, and the torchdata Loader prefetches more;
the stream state that matters is the one *after the last batch that was trained*. The train iterable
records the Loader's `state_dict()` after every batch it yields (torchdata snapshots the source state
per item, so that state points exactly at the next sample id), and `on_before_batch_transfer` (called
for the batch the step is about to train) marks it as consumed. `state_dict()` returns the consumed
state (all ranks' states, gathered, under DDP), `load_state_dict` keeps it until `train_dataloader()`
restores the Loader with it: the resumed run continues at the successor of the last trained id, with
no repeat and no gap. (The curriculum callback re-applies the schedule entries already passed.)
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import lightning as L
import torch

from simsv_stream.errors import ConfigError
from simsv_stream.sample import Sample

log = logging.getLogger(__name__)

STATE_FORMAT = 1

# VideoVLMModule.transfer_batch_to_device (moves tensors, keeps meta) is meant to win over the
# DataModule's default; Lightning warns about that combination on every fit
warnings.filterwarnings(
    "ignore",
    message=r"You have overridden `transfer_batch_to_device` in `LightningModule` but "
    r"have passed in a `LightningDataModule`",
)


class StreamBatches:
    """The train iterable Lightning sees: one long-lived iterator over the stream's Loader.

    `iter()` does not restart it. Lightning calls `iter()` once only to check the object is iterable,
    and a torchdata Loader resets on every `iter()`, dropping what its prefetcher already pulled (an id
    gap at the start of training). Also times how long each `next()` blocks: that is the time the
    training loop waited for data (see `StreamMetricsCallback`)."""

    def __init__(self, dm: "StreamDataModule") -> None:
        self.dm = dm
        self._it: Optional[Any] = None
        self.wait_s = 0.0  # total seconds blocked in next()
        self.batches = 0

    def __iter__(self) -> "StreamBatches":
        if self._it is None:
            self._it = iter(self.dm.loader)
        return self

    def __next__(self) -> Any:
        if self._it is None:
            iter(self)
        t0 = time.perf_counter()
        batch = next(self._it)
        self.wait_s += time.perf_counter() - t0
        self.batches += 1
        self.dm._yielded(batch)
        return batch


def _last_id(batch: Any) -> Optional[int]:
    if isinstance(batch, dict) and batch.get("meta"):
        return int(batch["meta"][-1]["sample_id"])
    return None


def _dist() -> tuple[bool, int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return True, torch.distributed.get_rank(), torch.distributed.get_world_size()
    return False, 0, 1


def generate_eval_set(
    stream_config: Any, samples: int, seed_offset: int, mix: Any = None, timeout_s: Optional[float] = None
) -> list[Sample]:
    """`samples` held-out samples from the reserved seed `stream seed + seed_offset`, made by the same
    machinery as training (a dispatcher on a free loopback port with its own local fleet), then closed.

    Training orders carry the run seed, eval orders the eval seed: episode seeds and question draws are
    hashes of (seed, sample id), so no training sample can coincide with an eval sample."""
    from simsv_stream.stream import Dispatcher
    from simsv_stream.wire import decode_frames

    if seed_offset < 1:
        raise ConfigError(
            "eval.seed_offset", f"must be >= 1 so the eval seed differs from the training seed, got {seed_offset}"
        )
    cfg = stream_config.updated(
        seed=stream_config.seed + seed_offset,
        rank=0,
        world_size=1,
        endpoint="tcp://127.0.0.1:*",
        control_endpoint="off",
        workers=max(1, stream_config.workers),
        curve_keys=None,
        mix=stream_config.mix if mix is None else mix,
        timeout_s=stream_config.timeout_s if timeout_s is None else timeout_s,
    )
    t0 = time.perf_counter()
    with Dispatcher(cfg, log_changes=False) as d:
        out = [decode_frames(d.get(), writable=True) for _ in range(samples)]
    log.info("eval set: %d samples from seed %d in %.1f s", samples, cfg.seed, time.perf_counter() - t0)
    return out


class StreamDataModule(L.LightningDataModule):
    """Train batches from the stream (`simsv_stream.stream.build_loader`), validation on a held-out set.

    stream_config: a `simsv_stream.stream.StreamConfig` (rank/world_size are filled in from the trainer).
    encode / collate: the model's per-sample encoder (run by the stream's ParallelMapper) and batch
        collate (`VideoQACollator.encode` / `.collate`).
    map_method: "process" runs decode + encode in `map_workers` encoder processes (the trainer process
        only moves tensors), "thread" in threads of the trainer process (`data.map_method`).
    eval_samples: held-out set size (0: no validation data); generated once per run at the first setup.
    sample_log_dir: if set, every trained sample is appended to `sample_log_dir/rank{r}.jsonl`
        (step, id, question type, mix version): the record of what the model saw.
    """

    def __init__(
        self,
        stream_config: Any,
        encode: Callable[[Sample], Any],
        collate: Callable[[list], Any],
        batch_size: int = 1,
        map_workers: int = 2,
        prefetch: int = 2,
        map_method: str = "process",
        eval_samples: int = 0,
        eval_batch_size: int = 4,
        eval_seed_offset: int = 1_000_000,
        eval_mix: Any = None,
        sample_log_dir: Optional[str | Path] = None,
        announce: bool = True,
    ) -> None:
        super().__init__()
        self.stream_config = stream_config
        self.encode, self.collate = encode, collate
        self.batch_size, self.map_workers, self.prefetch = batch_size, map_workers, prefetch
        self.map_method = map_method
        self.eval_samples, self.eval_batch_size = eval_samples, eval_batch_size
        self.eval_seed_offset, self.eval_mix = eval_seed_offset, eval_mix
        self.sample_log_dir = Path(sample_log_dir) if sample_log_dir else None
        self.announce = announce
        self.dispatcher: Any = None
        self.loader: Any = None
        self.batches: Optional[StreamBatches] = None
        self.eval_set: Optional[list[Sample]] = None
        self.rank, self.world_size = 0, 1
        self._yielded_states: deque = deque()
        self._consumed_state: Optional[dict] = None
        self._to_restore: Optional[dict] = None
        self._after_restore: list[Callable[[], None]] = []
        self._sample_log: Any = None

    @classmethod
    def from_run_config(cls, cfg: Any, module: Any) -> "StreamDataModule":
        from simsv_stream.stream import StreamConfig

        stream = StreamConfig.from_dict(cfg.stream, scales=cfg.scales, mix=cfg.mix)
        d = cfg.data
        return cls(
            stream,
            module.collator.encode,
            module.collator.collate,
            batch_size=d.batch_size,
            map_workers=d.map_workers,
            prefetch=d.prefetch,
            map_method=d.map_method,
            eval_samples=cfg.eval.samples,
            eval_batch_size=cfg.eval.batch_size,
            eval_seed_offset=cfg.eval.seed_offset,
            eval_mix=cfg.eval.mix,
            sample_log_dir=Path(cfg.output_dir) / "samples" if d.log_samples else None,
        )

    # ------------------------------------------------------------------ lifecycle -----------------------
    def setup(self, stage: str) -> None:
        if self.eval_samples and self.eval_set is None and stage in ("fit", "validate"):
            t0 = time.perf_counter()
            self.eval_set = generate_eval_set(
                self.stream_config, self.eval_samples, self.eval_seed_offset, self.eval_mix
            )
            trainer = getattr(self, "trainer", None)
            if self.announce and (trainer is None or trainer.is_global_zero):
                print(
                    f"held-out set: {len(self.eval_set)} samples from the reserved seed "
                    f"{self.stream_config.seed + self.eval_seed_offset} "
                    f"(training uses seed {self.stream_config.seed}), "
                    f"made in {time.perf_counter() - t0:.1f} s",
                    flush=True,
                )
        if stage == "fit" and self.dispatcher is None:
            self._start()

    def _start(self) -> None:
        from simsv_stream.stream import Dispatcher, build_loader

        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            self.rank, self.world_size = int(trainer.global_rank), int(trainer.world_size)
        else:
            self.rank, self.world_size = self.stream_config.rank_world()
        cfg = self.stream_config.updated(rank=self.rank, world_size=self.world_size)
        self.dispatcher = Dispatcher(cfg).start()
        try:
            self.loader = build_loader(
                cfg,
                dispatcher=self.dispatcher,
                map_fn=self.encode,
                collate_fn=self.collate,
                batch_size=self.batch_size,
                map_workers=self.map_workers,
                prefetch=self.prefetch,
                map_method=self.map_method,
            )
        except BaseException:
            self.close()
            raise
        if self.announce:
            d = self.dispatcher
            ctl = d.control_endpoint or "off"
            print(
                f"stream rank {self.rank}/{self.world_size}: {cfg.workers} {cfg.backend} worker(s) on {d.endpoint}; "
                f"control endpoint {ctl}"
                + (
                    f" (live: simsv-stream mix set --endpoint {ctl} MIX | scale set | status)"
                    if d.control_endpoint
                    else ""
                )
                + (
                    f"; no local workers: start them with `simsv-stream workers --connect {d.connect_endpoint} -n N`"
                    if cfg.workers == 0
                    else ""
                ),
                flush=True,
            )

    def close(self) -> None:
        """Stop the dispatcher and its workers, and the loader's encoder processes (idempotent)."""
        d, self.dispatcher = self.dispatcher, None
        if d is not None:
            d.close()
        if self.loader is not None:
            self.loader.close()
        self.loader = None
        self.batches = None
        if self._sample_log is not None:
            self._sample_log.close()
            self._sample_log = None

    def teardown(self, stage: str) -> None:
        if stage == "fit":
            self.close()

    def on_exception(self, exception: BaseException) -> None:
        self.close()

    # ------------------------------------------------------------------ data ----------------------------
    def train_dataloader(self) -> StreamBatches:
        if self.dispatcher is None:
            self._start()
        if self.batches is not None:
            return self.batches
        state = self._state_for_this_rank()
        if state is not None:
            self.loader.load_state_dict(state)
        self.batches = StreamBatches(self)
        iter(self.batches)  # reset the Loader now (restoring the state) and start prefetching
        if state is not None:
            self._consumed_state = state
            log.info("stream rank %d: stream state restored from the checkpoint", self.rank)
        if self._to_restore is not None:  # resuming (this rank's stream may not have started before)
            for fn in self._after_restore:
                fn()
        return self.batches

    def val_dataloader(self) -> Any:
        if not self.eval_set:
            return []
        return torch.utils.data.DataLoader(self.eval_set, batch_size=self.eval_batch_size, collate_fn=list)

    def after_restore(self, fn: Callable[[], None]) -> None:
        """Run `fn` right after the stream state of a checkpoint has been restored (the curriculum
        re-applies its schedule here)."""
        self._after_restore.append(fn)

    # ------------------------------------------------------------------ position tracking ---------------
    def _yielded(self, batch: Any) -> None:
        self._yielded_states.append((_last_id(batch), self.loader.state_dict()))

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        last = _last_id(batch)
        trainer = getattr(self, "trainer", None)
        if last is None or trainer is None or not trainer.training:
            return batch
        while self._yielded_states:
            sid, state = self._yielded_states.popleft()
            if sid == last:
                self._consumed_state = state
                break
        if self.sample_log_dir is not None:
            self._log_samples(batch, int(trainer.global_step))
        return batch

    def _log_samples(self, batch: dict, step: int) -> None:
        if self._sample_log is None:
            self.sample_log_dir.mkdir(parents=True, exist_ok=True)
            self._sample_log = open(self.sample_log_dir / f"rank{self.rank}.jsonl", "a", encoding="utf-8")
        for m in batch["meta"]:
            self._sample_log.write(
                json.dumps(
                    {"step": step, "id": m["sample_id"], "type": m["question_type"], "mix_version": m["mix_version"]}
                )
                + "\n"
            )
        self._sample_log.flush()

    # ------------------------------------------------------------------ checkpoint ----------------------
    def state_dict(self) -> dict[str, Any]:
        mine = self._consumed_state if self._consumed_state is not None else self._state_for_this_rank()
        states = {str(self.rank): mine}
        dist, _, world = _dist()
        if dist and world > 1:  # every rank runs this (dump_checkpoint); rank 0 writes the file
            gathered: list[Any] = [None] * world
            torch.distributed.all_gather_object(gathered, (self.rank, mine))
            states = {str(r): s for r, s in gathered}
        return {"format": STATE_FORMAT, "world_size": self.world_size, "ranks": states}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("format") != STATE_FORMAT:
            raise ConfigError("resume", f"stream state format {state_dict.get('format')!r} not supported")
        self._to_restore = state_dict

    def _state_for_this_rank(self) -> Optional[dict]:
        sd = self._to_restore
        if sd is None:
            return None
        if int(sd["world_size"]) != self.world_size:
            raise ConfigError(
                "resume",
                f"the checkpoint's stream is for {sd['world_size']} rank(s), this run has "
                f"{self.world_size}; resume with the same trainer.devices x num_nodes",
            )
        return sd["ranks"].get(str(self.rank))

    # ------------------------------------------------------------------ info ----------------------------
    def status(self) -> Optional[dict[str, Any]]:
        return self.dispatcher.status() if self.dispatcher is not None else None

    @property
    def wait_s(self) -> float:
        return self.batches.wait_s if self.batches is not None else 0.0


def worker_pids(dm: StreamDataModule) -> list[int]:
    """pids of the local fleet's processes (for tests and diagnostics)."""
    d = dm.dispatcher
    fleet = getattr(d, "fleet", None) if d is not None else None
    return sorted(fleet.pids().values()) if fleet is not None else []


__all__: Sequence[str] = ("StreamDataModule", "StreamBatches", "generate_eval_set", "worker_pids")
