"""`./setup.sh`, run again on a set-up checkout, leaves nothing in the temporary directory."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_setup_leaves_nothing_in_the_temporary_directory(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    done = subprocess.run(
        ["./setup.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=280
    )
    assert done.returncode == 0, done.stderr
    assert "set-up done" in done.stdout
    assert not list(scratch.iterdir())  # ipykernel once left a tmpXXXX_kernels folder here
