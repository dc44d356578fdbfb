# Two set-up commands for a fresh machine: `make run` and `make test`.
# Both create .venv and install the project with every extra it needs.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED ?= ../shared/data
export RAY_USAGE_STATS_ENABLED := 0
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint eval bench clean

install: $(STAMP)

# llama.cpp's default -march=native build emits AMX tile instructions on CPUs
# that advertise AMX; in VMs/sandboxes that do not grant AMX state they die
# with SIGILL on the first token.  A portable AVX2 build runs everywhere we
# deploy, and --no-cache-dir keeps pip from reusing a natively built wheel.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "Building llama-cpp-python for this CPU family (a few minutes on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q --no-cache-dir 'llama-cpp-python>=0.2.80'
	@echo "Installing wildchat with all extras..."
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

## The main job on embedded defaults: the consent-gated chatbot on the local
## SmolLM2 model, logging to SQLite under ./data.
run: install
	$(BIN)/wildchat serve --dev --data-dir data --model smol=local --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## The whole test suite (service tests skip with a reason where a service is absent).
test: install lint
	$(BIN)/python -m pytest -q

## Real-data checks over ../shared/data; fails if the folder is there and a check fails.
eval: install
	@if [ -d "$(SHARED)" ]; then \
		WILDCHAT_SHARED_DATA="$(abspath $(SHARED))" WILDCHAT_REQUIRE_SHARED=1 $(BIN)/python -m pytest -q -m realdata tests; \
	else echo "make eval: $(SHARED) not found, nothing to check"; fi

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
