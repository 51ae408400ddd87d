# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Each creates the default environment (.venv, the maintained onedl fork) when it is missing.
PYTHON ?= python3
VENV ?= .venv
OMM_VENV ?= .venv-openmmlab
PIP_FLAGS ?= -q --disable-pip-version-check
PYTEST_ARGS ?=

.PHONY: env env-openmmlab demo test test-fast test-openmmlab clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements/onedl.txt requirements/quantization.txt requirements/runtime.txt \
		requirements/tests.txt setup.py
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements/onedl.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e .
	touch $@

# The original OpenMMLab releases; mmcv 2.1.0 is built from source once and its wheel cached.
env-openmmlab: $(OMM_VENV)/.installed

$(OMM_VENV)/.installed: requirements/openmmlab.txt requirements/runtime.txt requirements/tests.txt setup.py tools/setup_openmmlab_env.sh
	bash tools/setup_openmmlab_env.sh $(OMM_VENV)
	touch $@

demo: env
	$(VENV)/bin/python tools/demo.py

CHROMIUM ?= /usr/bin/chromium
CHROMIUM_NOTE = @test -x $(CHROMIUM) || echo "NOTE: Chromium is missing ($(CHROMIUM)): the web demo browser test (tests/test_web_demo.py) will be SKIPPED; install it with: apt-get install -y chromium"

test: env
	$(CHROMIUM_NOTE)
	$(VENV)/bin/python -m pytest tests $(PYTEST_ARGS)

test-fast: env
	$(VENV)/bin/python -m pytest tests -m "not slow" $(PYTEST_ARGS)

# NNCF (INT8 for OpenVINO) is installed in the default stack only: its tests are deselected
# here; ONNX Runtime's quantization tests run in both.
test-openmmlab: env-openmmlab
	$(CHROMIUM_NOTE)
	$(OMM_VENV)/bin/python -m pytest tests -m "not nncf" $(PYTEST_ARGS)

clean:
	rm -rf work_dirs .pytest_cache build *.egg-info
