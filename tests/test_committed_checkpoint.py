"""The committed actor solves the task: >= 30 over one full greedy episode, on unseen goals.

Both paths use `studies/evaluate.py` in a child process: the in-process simulator, and
`Reacher_Linux/Reacher.x86_64` through the genuine `unityagents` client (which must live in a
process of its own: docs/protocol.md, pitfalls 5 and 6).
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ACTOR = REPO / "checkpoints" / "checkpoint_actor.pth"
UNSEEN_SEED = 4242  # training used seeds 0-4


def greedy_score(tmp_path: Path, *env_args: str) -> float:
    command = [sys.executable, "-m", "studies.evaluate", "--actor", str(ACTOR)]
    command += ["--episodes", "1", "--seed", str(UNSEEN_SEED), "--out", str(tmp_path / "e.csv")]
    done = subprocess.run(
        command + list(env_args), cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("greedy_mean: "), done.stdout
    return float(last.split()[-1])


def test_committed_actor_solves_an_episode_in_process(tmp_path):
    assert greedy_score(tmp_path, "--env", "sim") >= 30.0


def test_committed_actor_solves_an_episode_through_unityagents(tmp_path, free_worker_id):
    score = greedy_score(tmp_path, "--env", "unity", "--worker-id", str(free_worker_id()))
    assert score >= 30.0


@pytest.fixture(autouse=True)
def committed_actor_exists():
    assert ACTOR.is_file(), f"{ACTOR} is not committed (see README: make train)"
