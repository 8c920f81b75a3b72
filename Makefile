# MulCo — `make demo` builds the bundled sample, fine-tunes a tiny model on it and evaluates it;
# `make test` runs the tests. Both create .venv when it is missing and install what they need into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BUILD_STAMP := $(VENV)/.installed-build
TRAIN_STAMP := $(VENV)/.installed-train
DEV_STAMP := $(VENV)/.installed-dev
OUT ?= out
SAMPLE := $(OUT)/sample
OFFLINE := HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1

.PHONY: demo demo-data test test-fast test-times lint bench install install-train clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The data package with what building needs ([build]: validation, parse check, card, charts);
# no torch, no test tools. Loading alone needs only `pip install mulco` (no extra).
$(BUILD_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[build]'
	touch $@

# Training: the CPU build of torch first (a bare `torch` requirement can pull a multi-GB CUDA
# build), DeepSpeed without compiling its ops, then the [train] extra.
$(TRAIN_STAMP): pyproject.toml $(BUILD_STAMP)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q setuptools wheel py-cpuinfo
	DS_BUILD_OPS=0 $(PIP) install -q --no-build-isolation 'deepspeed>=0.15'
	$(PIP) install -q -e '.[train]'
	# CodeBLEU for collama-eval: its tree-sitter<0.23 pin is metadata only (it runs on the
	# project's tree-sitter), so it goes in without its dependencies.
	$(PIP) install -q --no-deps 'codebleu==0.7.0'
	touch $@

# The test tools.
$(DEV_STAMP): pyproject.toml $(BUILD_STAMP)
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(DEV_STAMP)
install-train: $(TRAIN_STAMP)

demo-data: $(BUILD_STAMP)
	$(VENV)/bin/mulco build --sample --out $(SAMPLE)
	$(OFFLINE) $(VENV)/bin/mulco show $(SAMPLE) code_search.en -n 3

# A tiny random Llama (tokenizer trained on the sample's texts), fine-tuned on every config of the
# sample with packing (the loss falls), then evaluated on one config: nothing is downloaded. Last,
# the plan and model card of `collama-train publish --dry-run` (offline: the Hub is not read).
demo: demo-data $(TRAIN_STAMP)
	$(OFFLINE) $(VENV)/bin/collama-train tiny-model --out $(OUT)/tiny --data $(SAMPLE)
	$(OFFLINE) $(VENV)/bin/collama-train --model $(OUT)/tiny --data $(SAMPLE) --configs all \
	  --output-dir $(OUT)/run --packing --max-length 512 --per_device_train_batch_size 2 \
	  --learning_rate 3e-3 --lr_scheduler_type cosine --warmup_steps 2 --num_train_epochs 4 \
	  --logging_steps 4 --save_strategy no --seed 0 --tokenized_cache_dir $(OUT)/tokenized
	$(OFFLINE) $(VENV)/bin/collama-eval --model $(OUT)/run --data $(SAMPLE) --configs code_search.en \
	  --max-new-tokens 32 --out $(OUT)/run/eval
	$(OFFLINE) $(VENV)/bin/collama-train publish $(OUT)/run --repo-id you/collama-demo --base-model none \
	  --license cc-by-nc-4.0 --dry-run > $(OUT)/publish-dry-run.txt
	@head -n 28 $(OUT)/publish-dry-run.txt; echo "  [... the model-index: every score of $(OUT)/run/eval/results.json ...]"
	@sed -n '/^# collama-demo$$/,/^## Training procedure/p' $(OUT)/publish-dry-run.txt; echo "[... the whole plan and card: $(OUT)/publish-dry-run.txt]"

test: $(DEV_STAMP) $(TRAIN_STAMP)
	$(PY) -m pytest -q

# The seconds each test module took in the last run (pytest cache) -> tests/module_seconds.json,
# the order a fresh clone's run starts the modules in (longest first, so the workers end together).
test-times:
	$(PY) -c "import json, os; d = json.load(open('.pytest_cache/v/mulco/module_seconds')); \
	  json.dump({k: round(v, 1) for k, v in sorted(d.items()) if os.path.exists(k)}, open('tests/module_seconds.json', 'w'), indent=0)"

test-fast: $(DEV_STAMP) $(TRAIN_STAMP)
	$(PY) -m pytest -q -m "not slow"

# ruff with the [tool.ruff] rules (complexity <= 12); tests/test_lint.py runs the same check in `make test`.
lint: $(DEV_STAMP)
	$(PY) -m ruff check .

bench: $(DEV_STAMP) $(TRAIN_STAMP)
	$(PY) bench/bench_build.py
	$(PY) bench/bench_tokenize.py
	$(PY) bench/bench_train.py
	$(PY) bench/bench_eval.py

clean:
	rm -rf out .pytest_cache
