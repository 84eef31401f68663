"""Continuous_Control.ipynb's watch section works in a kernel that skipped training.

A newcomer who only wants to see the committed agent runs sections 0 and 1 (settings, start
the environment) and then section 6, which must load `checkpoints/checkpoint_actor.pth` and
define everything else it needs itself. Short mode (REACHER_QUICK=1) keeps it brief; its
scratch directory must be gone once the kernel has shut down.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "Continuous_Control.ipynb"


def sections(notebook, *numbers: int) -> list:
    """The cells of the numbered sections: a markdown cell starting "### N." starts section N;
    the introduction, whose cell ends with "### 0. Settings", belongs to section 0."""
    chosen, current = [], 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("### "):
            current = int(cell.source[4 : cell.source.index(".")])
        if current in numbers:
            chosen.append(cell)
    return chosen


@pytest.mark.timeout(300)
def test_watch_section_runs_without_training(tmp_path, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells = sections(notebook, 0, 1, 6, 7)  # settings, start, watch, close
    titles = [c.source.splitlines()[0] for c in notebook.cells if c.cell_type == "markdown"]
    assert any(t.startswith("### 6.") for t in titles)
    assert not any(t.startswith(("### 3.", "### 4.")) for t in titles)  # no training

    monkeypatch.setenv("REACHER_QUICK", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's scratch directory goes here
    client = NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "loaded checkpoints/checkpoint_actor.pth" in text
    assert "Total score (averaged over agents) this episode:" in text
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the animation
    assert "watch only: results/trained_arms.gif is not replaced" in text  # no GIF written
    # execute() has shut the kernel down: short mode left nothing in the temp directory.
    assert not list(tmp_path.glob("reacher-quick-*"))


def test_watch_section_loads_through_the_checked_loader():
    """A bare torch.load took a NaN checkpoint and failed with IndexError on an empty file."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in sections(notebook, 6) if c.cell_type == "code")
    assert "load_checked(actor, actor_path)" in code and "torch.load(" not in code
