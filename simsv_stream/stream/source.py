"""torchdata.nodes side: the stream as a stateful ``BaseNode``, and ``build_loader``.

``ZmqSource`` yields :class:`~simsv_stream.wire.WireSample` in id order; its state is the
dispatcher's :meth:`~simsv_stream.stream.Dispatcher.state` (next id, mix/scales in force, orders
written but not consumed), so ``Loader.state_dict()`` checkpoints the stream and a restored loader
continues at the successor of the last consumed sample, with no id repeated or skipped.

A stream never repeats itself: ``reset()`` without a state (a new epoch of a Loader, say) continues
from where the source is; only a state rewinds it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from torchdata.nodes import BaseNode, Batcher, Loader, Mapper, ParallelMapper, PinMemory, Prefetcher

from .. import wire
from .config import StreamConfig
from .dispatcher import Dispatcher


class ZmqSource(BaseNode[wire.WireSample]):
    """Source node over a :class:`Dispatcher` (created, bound and its fleet spawned on first use)."""

    def __init__(self, config: StreamConfig, dispatcher: Dispatcher | None = None):
        super().__init__()
        self.config = config
        self.dispatcher = dispatcher
        self._owns = dispatcher is None
        self._started = False

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
        self._started = True

    def next(self) -> wire.WireSample:
        return self.dispatcher.get()  # type: ignore[union-attr]

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


class StreamLoader(Loader):
    """A ``torchdata.nodes.Loader`` that also exposes the stream: ``.dispatcher`` for live control
    (``set_mix``/``set_scales``/``set_workers``/``status``), ``close()`` to stop workers."""

    def __init__(self, root: BaseNode, source: ZmqSource):
        super().__init__(root, restart_on_stop_iteration=False)
        self.source = source

    @property
    def dispatcher(self) -> Dispatcher:
        return self.source._ensure()

    def close(self) -> None:
        self.source.close()


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
) -> StreamLoader:
    """source -> ParallelMapper(decode, then ``map_fn``: the processor) -> Batcher -> ``collate_fn``
    -> PinMemory (when CUDA is available, or ``pin_memory=True``) -> Prefetcher -> Loader.

    ``map_fn`` gets a :class:`~simsv_stream.sample.Sample` (frames decoded); ``collate_fn`` a list of
    ``batch_size`` mapped items (default: the list itself). Items keep id order (``in_order=True``).
    """
    source = ZmqSource(config, dispatcher)
    node: BaseNode = ParallelMapper(source, _Compose(decode, map_fn), num_workers=map_workers, in_order=True,
                                    method="thread")
    node = Batcher(node, batch_size=batch_size, drop_last=True)
    if collate_fn is not None:
        node = Mapper(node, collate_fn)
    if pin_memory is None:
        import torch

        pin_memory = torch.cuda.is_available()
    if pin_memory:
        node = PinMemory(node)
    node = Prefetcher(node, prefetch_factor=prefetch)
    return StreamLoader(node, source)
