#!/usr/bin/env python
"""Render-vs-train balance benchmark (same as `simsv-stream bench balance`): for each worker count, the
real fleet + dispatcher + torchdata pipeline in front of the configured model's training step (or
--model-step-ms X of sleep); data-wait, throughput, per-stage worker time, knob sweep, materialized
baseline; writes DIR/report.md and DIR/balance.png and prints the recommended worker count.

    python bench/balance.py --config configs/demo.yaml --workers 1,2 --model-step-ms 200 --out runs/balance
"""

import sys

from simsv_stream.benchmarks.balance import main

if __name__ == "__main__":
    sys.exit(main())
