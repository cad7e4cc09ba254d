# Two commands do all the set-up:
#   make lab    install the course into .venv and open it in JupyterLab
#   make test   install the test tools and run every test, nbval over every notebook included
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: lab test test-fast test-colab release clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(VENV)/.installed
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

# Two workers; --dist loadscope keeps each notebook's cells on one kernel.
# One thread per kernel, so that two kernels do not fight over the two cores.
test: $(VENV)/.installed-test
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadscope \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 --junitxml=build/test-results.xml \
		tests notebooks
	$(BIN)/python benchmarks/test_times.py build/test-results.xml

# Unit tests only, no notebooks.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests

# Colab's versions of numpy, matplotlib, ipywidgets and tqdm in a second venv.
test-colab:
	bash .ci/colab_job.sh

release: $(VENV)/.installed
	$(BIN)/python -m course_lib.release

clean:
	rm -rf $(VENV) build .pytest_cache
