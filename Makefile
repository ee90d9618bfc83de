# The two commands of the README: `make demo` and `make test`.
# Each does all the set-up it needs (a local .venv) on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export KMP_WARNINGS := 0

.PHONY: demo test test-slow compat setup data browser clean

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Real Fashion-MNIST from Debian when apt is available; otherwise the demo
# downloads it or falls back to the offline `digits` set and says so.
data:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
		|| echo "note: could not install dataset-fashion-mnist with apt; cnnlab will try other sources"; \
	fi

# Debian's Chromium for the lab's browser tests (tests/lab/test_browser.py), installed like the dataset: where
# apt is available; elsewhere those tests skip and say how to install a browser.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ -z "$$CNNLAB_CHROMIUM" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "note: could not install chromium with apt; the lab's browser tests will skip"; \
	fi

demo: $(STAMP) data
	$(PY) examples/fashion_mnist_cnn.py

test: $(STAMP) browser
	$(PY) -m pytest

# Regenerate the lab's screenshots in docs/images (a real server and Chromium; ~1 minute).
.PHONY: lab-screenshots
lab-screenshots: $(STAMP) browser
	OMP_NUM_THREADS=1 $(PY) scripts/lab_screenshots.py --out docs/images

test-slow: $(STAMP) data
	$(PY) -m pytest -m slow

clean:
	rm -rf $(VENV) build *.egg-info

# Side-by-side checks against real Keras 3 on TensorFlow, in their own venv
# (TensorFlow never goes into .venv): summaries, parameter counts, outputs.
COMPAT_VENV := .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed

$(COMPAT_STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install -q --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install -q -c requirements/constraints.txt -e '.[test]'
	$(COMPAT_VENV)/bin/python -m pip install -q tensorflow-cpu==2.21.0 keras==3.15.1
	touch $(COMPAT_STAMP)

compat: $(COMPAT_STAMP)
	$(COMPAT_VENV)/bin/python -m pytest compat/  # -q comes from pyproject's addopts

# Side-by-side speed benchmark (bench/README.md): cnnlab, Keras 3 on
# TensorFlow-CPU, Keras 3 on torch and an idiomatic PyTorch loop, one after
# another in one job. Keras and TensorFlow live in .venv-bench only.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: bench bench-quick

$(BENCH_STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -c requirements/constraints.txt -e .
	$(BENCH_VENV)/bin/python -m pip install -q -c requirements/constraints.txt tensorflow-cpu==2.21.0 keras==3.15.1
	touch $(BENCH_STAMP)

# torchvision for bench/apps_probe.py only (predict images/s of MobileNetV2/ResNet50): it needs torch 2.14.1,
# which cannot live beside cnnlab's torch. About 5.5 GB; where it cannot be made, the probe skips torchvision.
TV_VENV := .venv-tv
TV_STAMP := $(TV_VENV)/.installed

.PHONY: venv-tv
$(TV_STAMP):
	$(PYTHON) -m venv $(TV_VENV)
	$(TV_VENV)/bin/python -m pip install -q --upgrade pip
	$(TV_VENV)/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	touch $(TV_STAMP)

venv-tv: $(TV_STAMP)

bench: $(BENCH_STAMP) data
	-$(MAKE) --no-print-directory venv-tv
	$(BENCH_VENV)/bin/python bench/run.py --mode full --update-readme

bench-quick: $(BENCH_STAMP) data
	$(BENCH_VENV)/bin/python bench/run.py --mode quick

# Robustness: the bad-input matrix, kill points, crafted files, fuzzing and memory
# bounds, recorded into docs/robustness.md (generated, never typed by hand).
.PHONY: robustness-report fuzz-long
ROBUSTNESS_JSON := build/robustness.json

robustness-report: $(STAMP)
	mkdir -p build
	CNNLAB_ROBUSTNESS_JSON=$(ROBUSTNESS_JSON) $(PY) -m pytest tests/robustness -m 'slow or not slow'
	$(PY) scripts/robustness_report.py $(ROBUSTNESS_JSON) docs/robustness.md

# Longer fuzzing: 20x the examples of `make test`, then a time-boxed atheris run when it installs.
fuzz-long: $(STAMP)
	CNNLAB_FUZZ_EXAMPLES=3000 $(PY) -m pytest tests/robustness/test_fuzz_readers.py
	@if $(PY) -c 'import atheris' 2>/dev/null; then \
		$(PY) tests/robustness/atheris_fuzz.py -max_total_time=120; \
	else echo "atheris is not installed (pip install atheris); skipped the coverage-guided run"; fi
