"""torchdata.nodes side: the stream as a stateful ``BaseNode``, and ``build_loader``.

``ZmqSource`` yields :class:`~simsv_stream.wire.WireSample` in id order; its state is the
dispatcher's :meth:`~simsv_stream.stream.Dispatcher.state` (next id, mix/scales in force, orders
written but not consumed), so ``Loader.state_dict()`` checkpoints the stream and a restored loader
continues at the successor of the last consumed sample, with no id repeated or skipped.

A stream never repeats itself: ``reset()`` without a state (a new epoch of a Loader, say) continues
from where the source is; only a state rewinds it.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import os
import pickle
import select
import signal
import threading
import time
from typing import Any, Callable, Optional

from torchdata.nodes import BaseNode, Batcher, Loader, Mapper, ParallelMapper, PinMemory, Prefetcher

from .. import wire
from .config import StreamConfig
from .dispatcher import Dispatcher


class ZmqSource(BaseNode[wire.WireSample]):
    """Source node over a :class:`Dispatcher` (created, bound and its fleet spawned on first use).

    ``on_sample`` sees every sample here, in this process, before the mapper; ``picklable``: buffers
    are handed on as ``bytes`` (for encoder processes)."""

    def __init__(
        self,
        config: StreamConfig,
        dispatcher: Dispatcher | None = None,
        picklable: bool = False,
        on_sample: Callable[[wire.WireSample], None] | None = None,
    ):
        super().__init__()
        self.config = config
        self.dispatcher = dispatcher
        self.picklable = picklable
        self.on_sample = on_sample
        self._owns = dispatcher is None

    def _ensure(self) -> Dispatcher:
        if self.dispatcher is None:
            self.dispatcher = Dispatcher(self.config)
        self.dispatcher.start()
        return self.dispatcher

    def reset(self, initial_state: Optional[dict] = None) -> None:
        super().reset(initial_state)
        d = self._ensure()
        if initial_state is not None:
            d.restart(initial_state)

    def next(self) -> wire.WireSample:
        ws = self.dispatcher.get()  # type: ignore[union-attr]
        if self.on_sample is not None:
            self.on_sample(ws)
        return _owned_buffers(ws) if self.picklable else ws

    def get_state(self) -> dict[str, Any]:
        return self._ensure().state()

    def close(self) -> None:
        if self.dispatcher is not None and self._owns:
            self.dispatcher.close()


def decode_sample(ws: wire.WireSample):
    """Default first map step: WireSample -> Sample (JPEG decoded here, raw is a zero-copy view)."""
    return wire.decode_frames(ws)


class _Compose:
    def __init__(self, *fns: Callable[[Any], Any]):
        self.fns = [f for f in fns if f is not None]

    def __call__(self, x: Any) -> Any:
        for f in self.fns:
            x = f(x)
        return x


# ----------------------------------------------------------------------------------------------
# map_method="process": decode + encode run in encoder processes, so the trainer process only moves
# tensors: no JPEG decoding and no processor resize/normalize/patchify/tokenize competing with the
# training loop for the GIL, and no OpenMP teams of the processor's ops on the training loop's cores.
#
# Context: forkserver. When the encoders start, the trainer process is multi-threaded (dispatcher and
# zmq I/O threads, torchdata's reader, Lightning, maybe CUDA): fork copies locks other threads hold
# mid-operation and the CUDA state into the child, the hazard that made Python 3.14 drop fork as the
# Linux default. The forkserver is a fresh single-threaded interpreter, started once per trainer
# process, that forks each encoder. With the modules needed to unpickle the map function preloaded
# in it, encoders start about as fast as with fork (first batch ~1 s after iter() with the tiny model
# on 2 cores, fork 0.4-1 s); only the forkserver's own start is extra (~5 s, once per process). spawn
# re-imports torch and transformers in every encoder at every loader start or resume (~10-15 s here).
MP_CONTEXT = "forkserver"
PRELOAD = ("torch", "numpy", "PIL.Image", "simsv_stream.wire", __name__)


def _owned_buffers(ws: wire.WireSample) -> wire.WireSample:
    """The sample with its buffers as ``bytes``: zmq frames and memoryviews cannot be pickled into an
    encoder. One copy of the still-encoded bytes (the JPEGs, or the raw frame buffer). Pickle only
    crosses between this process and its own encoders (local queues), never a socket."""
    if all(type(b) is bytes for b in ws.buffers):
        return ws
    return dataclasses.replace(ws, buffers=[b if type(b) is bytes else bytes(wire._bytes_view(b)) for b in ws.buffers])


def _shared_ndarray(t: Any) -> Any:
    return t.numpy()  # a view of the shared-memory tensor, no copy


_SHARED_DTYPES = ("uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "bool")


def _reduce_ndarray(a: Any) -> Any:
    """Encoder -> trainer: a large array (the decoded frames a batch's meta keeps for re-encoding)
    travels like the processor's tensors, as shared memory (one copy, in the encoder), not through
    the queue's pipe (copied into the pickle, the pipe, and out again by the trainer process)."""
    if a.nbytes < wire.COPY_THRESHOLD or a.dtype.name not in _SHARED_DTYPES:
        return a.__reduce__()
    import numpy as np
    import torch

    t = torch.empty(a.shape, dtype=torch.from_numpy(np.empty(0, a.dtype)).dtype).share_memory_()
    t.numpy()[...] = a
    return _shared_ndarray, (t,)


def _tensor_from_bytes(data: bytes, dtype: Any, shape: tuple[int, ...]) -> Any:
    import torch

    if not data:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def _reduce_tensor(t: Any) -> Any:
    """Encoder -> trainer: small tensors (input_ids, labels, masks, grid sizes) travel inside the
    pickle. torch's default puts every tensor in its own shared-memory segment whose descriptor the
    trainer fetches over an authenticated socket: ~0.3 ms of the trainer's CPU per tensor, several
    times the cost of copying a few KB. Large ones (pixel values) keep the shared-memory path."""
    import torch
    from torch.multiprocessing.reductions import reduce_tensor

    if (
        type(t) is torch.Tensor
        and t.device.type == "cpu"
        and t.layout == torch.strided
        and not t.requires_grad
        and t.nbytes < wire.COPY_THRESHOLD
    ):
        flat = t.detach().contiguous().reshape(-1).view(torch.uint8)
        return _tensor_from_bytes, (flat.numpy().tobytes(), t.dtype, tuple(t.shape))
    return reduce_tensor(t)


class _InProcess:
    """The map step as an encoder process runs it. torchdata's ParallelMapper has no worker-init
    hook, so the set-up runs when this object is unpickled in the encoder (forkserver, spawn: at
    process start) or at its first call there (fork); never in the process that built it."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn
        self.owner = os.getpid()  # the trainer process
        self._set_up_in = os.getpid()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._set_up()

    def __call__(self, x: Any) -> Any:
        self._set_up()
        return self.fn(x)

    def _set_up(self) -> None:
        if self._set_up_in != os.getpid():
            self._set_up_in = os.getpid()
            _init_encoder_process(self.owner)


def _init_encoder_process(owner: int) -> None:
    from multiprocessing.reduction import ForkingPickler

    import numpy as np
    import torch

    _exit_with(owner)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the trainer's to handle; it stops us
    # one core per encoder: the parallelism is map_workers processes, not each processor call starting
    # a full OpenMP team (or a tokenizers thread pool) on the cores the other encoders and training use
    torch.set_num_threads(1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ForkingPickler.register(np.ndarray, _reduce_ndarray)
    ForkingPickler.register(torch.Tensor, _reduce_tensor)


def _exit_with(owner: int) -> None:
    """Exit when the trainer process ends, even by kill -9. Not PR_SET_PDEATHSIG: an encoder's parent
    is the forkserver, which stays up as long as its children hold its liveness pipe (they all do)."""
    try:
        fd: int | None = os.pidfd_open(owner)  # readable once the process has exited (Linux >= 5.3)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                time.sleep(0.5)
                try:
                    os.kill(owner, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass
        os._exit(0)

    threading.Thread(target=watch, name="encoder-exits-with-trainer", daemon=True).start()


class _OneIntraOpThread:
    """``fn`` run with one intra-op torch thread in whichever loader thread calls it (collate in the
    prefetch or pin-memory thread; the inline map step with map_workers 0). A loader thread's first
    batch-sized op otherwise starts its own OpenMP team, whose threads spin after every op: on 2 cores
    that made this process's CPU per sample 3-4x (bench/trainer_cpu.py, map_method="process").
    torchdata's thread workers set the same for themselves (torch.set_num_threads also lowers the default
    of threads started later), so with map_method="thread" collate already ran that way."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn
        self._threads: set[int] = set()

    def __call__(self, x: Any) -> Any:
        if threading.get_ident() not in self._threads:
            import torch

            torch.set_num_threads(1)
            self._threads.add(threading.get_ident())
        return self.fn(x)


def _modules_to_unpickle(fn: Callable[[Any], Any]) -> list[str]:
    """The modules an encoder imports to unpickle ``fn`` (the processor's classes, say). Raises a
    ValueError naming the problem when ``fn`` does not pickle."""
    seen: set[str] = set()

    class _Recorder(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            seen.add(type(obj).__module__)
            if isinstance(obj, type) or inspect.isroutine(obj):
                seen.add(getattr(obj, "__module__", None) or "")
            return NotImplemented

    try:
        _Recorder(io.BytesIO()).dump(fn)
    except Exception as e:  # noqa: BLE001 (pickle raises many types)
        raise ValueError(
            f"map_method='process' needs map_fn and decode that pickle (module-level functions, "
            f"or methods of picklable objects): {type(e).__name__}: {e}"
        ) from None
    return sorted(m for m in seen if m and m not in ("builtins", "__main__", "__mp_main__"))


def _preload_forkserver(modules: list[str]) -> None:
    """Have the forkserver import these once, if it is not running yet, instead of every encoder."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if MP_CONTEXT != "forkserver" or server is None or getattr(server, "_forkserver_pid", None) is not None:
        return
    have = list(getattr(server, "_preload_modules", None) or ["__main__"])
    server.set_forkserver_preload(have + [m for m in (*PRELOAD, *modules) if m not in have])


def _stop_encoders(mapper: ParallelMapper) -> None:
    """Stop the mapper's encoder processes now, not whenever its iterator is collected. torchdata has
    no public close(); its iterator's _shutdown sets the stop events and joins (0.5 s each)."""
    it = getattr(getattr(mapper, "_it", None), "_it", None)
    if it is None or not hasattr(it, "_shutdown"):
        return
    it._shutdown()
    for w in getattr(it, "_workers", []):
        if hasattr(w, "terminate") and w.is_alive():  # still busy with an item nobody will take
            w.terminate()
            w.join(1.0)


class StreamLoader(Loader):
    """A ``torchdata.nodes.Loader`` that also exposes the stream: ``.dispatcher`` for live control
    (``set_mix``/``set_scales``/``set_workers``/``status``), ``close()`` to stop workers (and the
    encoder processes of ``map_method="process"``)."""

    def __init__(self, root: BaseNode, source: ZmqSource, mapper: ParallelMapper | None = None):
        super().__init__(root, restart_on_stop_iteration=False)
        self.source = source
        self.mapper = mapper

    @property
    def dispatcher(self) -> Dispatcher:
        return self.source._ensure()

    def close(self) -> None:
        self.source.close()
        if self.mapper is not None and self.mapper.method == "process":
            _stop_encoders(self.mapper)


def build_loader(
    config: StreamConfig,
    *,
    map_fn: Callable[[Any], Any] | None = None,
    collate_fn: Callable[[list], Any] | None = None,
    batch_size: int = 1,
    map_workers: int = 2,
    prefetch: int = 2,
    pin_memory: bool | None = None,
    decode: Callable[[wire.WireSample], Any] | None = decode_sample,
    dispatcher: Dispatcher | None = None,
    map_method: str = "thread",
    on_sample: Callable[[wire.WireSample], None] | None = None,
) -> StreamLoader:
    """source -> ParallelMapper(decode, then ``map_fn``: the processor) -> Batcher -> ``collate_fn``
    -> PinMemory (when CUDA is available, or ``pin_memory=True``) -> Prefetcher -> Loader.

    ``map_fn`` gets a :class:`~simsv_stream.sample.Sample` (frames decoded); ``collate_fn`` a list of
    ``batch_size`` mapped items (default: the list itself). Items keep id order (``in_order=True``).

    ``map_method``: ``"thread"`` runs decode + ``map_fn`` in ``map_workers`` threads of this process;
    ``"process"`` in ``map_workers`` encoder processes (``decode``/``map_fn`` must pickle; their outputs
    come back through shared memory), so this process does no pixel work. ``map_workers=0``: both
    run inline, in the thread that pulls batches (no parallel mapper, whatever the method).
    ``on_sample``: called in this process with each received sample, before the mapper (instrumentation).
    """
    if map_method not in ("thread", "process"):
        raise ValueError(f"map_method must be thread or process, got {map_method!r}")
    in_processes = map_method == "process" and map_workers > 0
    source = ZmqSource(config, dispatcher, picklable=in_processes, on_sample=on_sample)
    fn: Callable[[Any], Any] = _Compose(decode, map_fn)
    if in_processes:
        fn = _InProcess(fn)
        _preload_forkserver(_modules_to_unpickle(fn))
    elif map_workers == 0:
        fn = _OneIntraOpThread(fn)
    mapper = ParallelMapper(
        source,
        fn,
        num_workers=map_workers,
        in_order=True,
        method=map_method,
        multiprocessing_context=MP_CONTEXT if in_processes else None,
    )
    node: BaseNode = mapper
    node = Batcher(node, batch_size=batch_size, drop_last=True)
    if collate_fn is not None:
        node = Mapper(node, _OneIntraOpThread(collate_fn))
    if pin_memory is None:
        import torch

        pin_memory = torch.cuda.is_available()
    if pin_memory:
        node = PinMemory(node)
    node = Prefetcher(node, prefetch_factor=prefetch)
    return StreamLoader(node, source, mapper)
