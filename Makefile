# Two entry points for a fresh machine (Python 3.11 + pip): `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH_CPU := torch==2.13.0

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

# torch first, chosen by hardware: on a machine without CUDA the CPU build that pip finds
# locally (torch==2.13.0); with CUDA the default wheel. Installing it before the package means
# the package's `torch>=` requirement is already met and pip never pulls a CUDA build on a CPU box.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
		echo "CUDA found: installing default torch"; $(BIN)/pip install -q torch; \
	else \
		echo "no CUDA: installing $(TORCH_CPU) (CPU build)"; $(BIN)/pip install -q $(TORCH_CPU); \
	fi
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

# the tiny offline Qwen2-VL (built once), then LoRA training on the embedded simulator with a mix switch
# half-way, the held-out per-type table at the end (configs/demo.yaml)
demo: setup
	@test -f runs/tiny-qwen2-vl/config.json || $(BIN)/simsv-stream make-tiny-model runs/tiny-qwen2-vl
	$(BIN)/simsv-stream train --config configs/demo.yaml

test: setup
	$(BIN)/python -m pytest -q

# ruff lint + format check (configured in pyproject.toml); CI runs it before the tests
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	$(BIN)/simsv-stream bench render

clean:
	rm -rf $(VENV) runs
