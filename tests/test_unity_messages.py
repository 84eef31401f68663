"""The regenerated `unityagents` message modules speak the 2018 protocol byte for byte.

`setup.sh` regenerates the genuine client's `communicator_objects/*_pb2.py` from their own
embedded descriptors for today's compiled protobuf (scripts/regenerate_unity_messages.py) and
keeps the 2018 modules, with the pure-Python protobuf 3.20.3 that reads them, in
`.venv/unityagents-2018/`. The same script builds the client's reset and step commands with the
client's own code, and parses the simulator's messages, once on each; every byte must agree.
The through-the-executable tests (test_unity_protocol.py, test_train.py) then run on the new
modules.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scripts.regenerate_unity_messages import legacy_client_environment

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "unity_messages_script.py"


def messages(legacy: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROTOCOL_BUFFERS")}
    if legacy:
        env = legacy_client_environment(env)  # FileNotFoundError before ./setup.sh
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def both() -> tuple[dict, dict]:
    return messages(legacy=True), messages(legacy=False)


def test_the_client_runs_on_compiled_protobuf(both):
    old, new = both
    assert old["backend"] == "python"  # the 2018 modules, as shipped
    assert new["backend"] == "upb"  # what `from unityagents import UnityEnvironment` gets


MESSAGES = ["reset", "reset_two_sorted", "step", "initialization", "step_output"]


@pytest.mark.parametrize("message", MESSAGES)
def test_identical_bytes_on_the_wire(both, message):
    """The client's commands as sent, and the simulator's messages as the client reads them
    (parsed and serialised again). Map entries (reset parameters) may come in any order on the
    wire, in both backends: with two of them the key-sorted encoding is compared."""
    old, new = both
    assert len(new[message]) > 50
    assert new[message] == old[message]


def test_the_simulators_step_reads_back_unchanged(both):
    old, new = both
    np.testing.assert_array_equal(new["observations"], old["observations"])
    assert new["rewards"] == old["rewards"] and new["local_done"] == old["local_done"]
    # The one difference a user can see: upb hands numpy float32 observations, the 2018
    # modules Python floats (float64), with the same values.
    assert (old["observations_dtype"], new["observations_dtype"]) == ("float64", "float32")
