"""`make train`'s notebook runner: a full run saves the notebook in place, short mode never does."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def run(notebook: Path, quick: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "REACHER_QUICK"}
    if quick:
        env["REACHER_QUICK"] = "1"
    command = [sys.executable, str(REPO / "scripts" / "run_notebook.py"), str(notebook)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "course.ipynb"
    cell = nbformat.v4.new_code_cell(
        "import os\nprint('quick' if os.environ.get('REACHER_QUICK') else 'full')"
    )
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


def printed(path: Path) -> str:
    (cell,) = nbformat.read(path, as_version=4).cells
    return "".join(output.get("text", "") for output in cell.outputs)


@pytest.mark.timeout(150)
def test_short_mode_saves_a_copy_and_leaves_the_notebook_untouched(notebook):
    before = notebook.read_bytes()
    done = run(notebook, quick=True)
    assert done.returncode == 0, done.stderr
    assert notebook.read_bytes() == before
    copy = notebook.parent / "runs" / "quick" / notebook.name
    assert printed(copy) == "quick\n" and str(copy) in done.stdout


@pytest.mark.timeout(150)
def test_a_full_run_saves_the_notebook_in_place(notebook):
    done = run(notebook, quick=False)
    assert done.returncode == 0, done.stderr
    assert printed(notebook) == "full\n"
    assert not (notebook.parent / "runs").exists()
