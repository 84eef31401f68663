# The two commands of the README. Both set up .venv/ first (idempotent, fast when already done).
PY := .venv/bin/python
NOTEBOOKS := $(wildcard Continuous_Control.ipynb Report.ipynb)

.PHONY: setup train test lint

setup:
	./setup.sh

# Main job: train the DDPG agent headless by running the course notebook top to bottom,
# writing checkpoints/ and results/ and saving the notebook with its outputs. Short mode
# (REACHER_QUICK=1) writes only to a scratch folder and runs/quick/ (git-ignored).
train: setup
	$(PY) scripts/run_notebook.py Continuous_Control.ipynb

# Tests: lint, unit/integration tests, and both notebooks executed by nbval in short mode.
# Everything the run puts in the temporary directory (pytest's tmp_path, Ray's session, the
# notebooks' scratch) goes to a folder of its own, removed afterwards whatever the outcome.
test: setup lint
	tmp=$$(mktemp -d -t reacher-test.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && \
	TMPDIR=$$tmp REACHER_QUICK=1 $(PY) -m pytest tests --nbval-lax $(NOTEBOOKS)

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
