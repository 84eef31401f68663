"""The wire benchmark compares like with like: both encoders and decoders give the same."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wire_speed_checks_both_sides_and_prints_its_headline():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.wire_speed", "--calls", "5", "--repeats", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "step messages parse equal: True; decoded actions equal: True"
    assert lines[-1].startswith("wire_us_per_step: ")
