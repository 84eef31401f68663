"""Execute a notebook top to bottom in a fresh kernel and save it with its outputs, in place.

Used by `make train` so the main job runs headless exactly as a student would run it in Jupyter.
"""

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    args = parser.parse_args()

    notebook = nbformat.read(args.notebook, as_version=4)
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
        nbformat.write(notebook, args.notebook)
    print(f"executed and saved {args.notebook}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
