"""The stream benchmarks run end to end (tiny sizes; the real numbers come from `simsv-stream bench`)."""

from __future__ import annotations

from simsv_stream.benchmarks import stream as stream_bench
from simsv_stream.benchmarks import transport
from simsv_stream.config import Scales


def test_transport_bench_smoke():
    rows = transport.run_transport_bench([(2, 32, 32)], samples=20, repeats=1)
    assert len(rows) == 1 and len(rows[0]) == 4
    assert all(r.rate > 0 for r in rows[0])
    table = transport.format_table(rows)
    assert "raw PUSH/PULL" in table and "torchdata source" in table and "vs raw" in table
    assert transport.auto_credit((16, 224, 224)) == 8 and transport.auto_credit((32, 384, 384)) == 2


def test_stream_bench_smoke(tmp_path):
    rows = stream_bench.run_throughput([1], 4, "noise", {}, Scales(frames=2, width=16, height=16), "3q")
    assert rows[0][0].rate > 0 and rows[0][1].rate > 0
    assert "DataLoader/s" in stream_bench.format_throughput(rows, "tiny")
    png = stream_bench.plot(rows, str(tmp_path / "t.png"), "tiny")
    assert (tmp_path / "t.png").stat().st_size > 1000 and png.endswith("t.png")
    st = stream_bench.run_staleness([2], workers=1, delay_s=0.002, before=5, after=5)
    disp = [r for r in st if r.level == "dispatcher"][0]
    assert disp.stale <= disp.bound == 2
    assert "bound credit*W" in stream_bench.format_staleness(st)
