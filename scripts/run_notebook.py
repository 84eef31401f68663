"""Execute a notebook top to bottom in a fresh kernel and save it with its outputs.

Used by `make train` so the main job runs headless exactly as a student would run it in Jupyter.
A full run saves the notebook in place: its outputs are the course deliverable. Short mode
(`REACHER_QUICK=1`) saves the executed copy under `runs/quick/` beside it (git-ignored), so that
trying things never overwrites the committed run.
"""

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def output_path(notebook: Path, quick: bool) -> Path:
    """Where the executed notebook is saved: in place, or a scratch copy in short mode."""
    return notebook.parent / "runs" / "quick" / notebook.name if quick else notebook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    args = parser.parse_args()

    notebook = nbformat.read(args.notebook, as_version=4)
    target = output_path(args.notebook, os.environ.get("REACHER_QUICK") == "1")
    client = NotebookClient(
        notebook,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(args.notebook.parent.resolve())}},
    )
    try:
        client.execute()
    finally:
        # Keep whatever ran, even on failure or Ctrl-C, so the outputs can be inspected.
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        print(f"saved the executed notebook to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
