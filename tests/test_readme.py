"""The README states the facts a course reviewer checks, and they agree with the code."""

import json
import re
from pathlib import Path

import numpy as np

from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE
from reacher.sim import REWARD_PER_PHYSICS_STEP
from scores import SOLVE_SCORE, WINDOW

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    """The text of the README's "## title" section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f'README has no "## {title}" section'
    return " ".join(match.group(1).split())  # one line: facts may wrap


def test_readme_states_the_environment_facts():
    task = section("The task")
    assert NUM_AGENTS == 20 and "**20 arms**" in task
    assert OBSERVATION_SIZE == 33 and re.search(r"\*\*State\*\*: 33 floats per arm", task)
    assert ACTION_SIZE == 4 and re.search(
        r"\*\*Action\*\*: 4 floats per arm, each in \*\*\[-1, 1\]\*\*", task
    )
    assert np.isclose(REWARD_PER_PHYSICS_STEP, 0.01)
    assert "+0.01 for every physics step (4 per `env.step`)" in task


def test_readme_states_the_solve_rule_as_the_code_applies_it():
    task, terms = section("The task"), section("Terms")
    assert re.search(r"average over the 20 arms of each episode's score", task)
    assert re.search(r"\*\*100 consecutive episodes\*\*, is \*\*at least \+30\*\*", task)
    assert (WINDOW, SOLVE_SCORE) == (100, 30.0)  # the code's rule
    # "Window end" is defined, as the course printout's N + 100.
    assert "**Window end**" in terms and "N = window end − 100" in terms
    assert "**Baseline recipe**" in terms


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_quoted_figures_are_the_committed_ones():
    """The README and docs/performance.md quote the committed benchmark and study files."""
    learner = (REPO / "results" / "benchmarks" / "learner_speed.txt").read_text()
    updates, naive = re.search(r"^updates_per_s: (\d+) \(x([\d.]+) naive", learner, re.M).groups()
    readme, performance = one_line(README), one_line((REPO / "docs" / "performance.md").read_text())
    assert f"The eager learner does {updates} updates/s per CPU-second" in readme
    assert f"{naive}× a naive implementation" in readme
    compiled = re.search(r"^compiled_ms_per_update: [\d.]+ \(x([\d.]+) of", learner, re.M)[1]
    assert f"the compiled update takes ×{compiled} of the eager agent's time" in readme
    assert f"(×{compiled})**" in performance
    course = (REPO / "results" / "benchmarks" / "course_speed.txt").read_text()
    episode, before, in_process = re.search(
        r"^course_episode_s: ([\d.]+) \(x([\d.]+) of before; x([\d.]+) of in-process\)",
        course,
        re.M,
    ).groups()
    assert f"takes **{episode} s, ×{before} of before**" in readme
    assert f"×{in_process} of an in-process episode" in readme
    assert f"it measured {updates} updates/s, {naive}x the naive learner" in performance
    peers = (REPO / "results" / "benchmarks" / "peer_speed.txt").read_text()
    ours, td3, sac = re.search(
        r"^peer_seconds_per_episode: ours ([\d.]+) \(x([\d.]+) of SB3's TD3, x([\d.]+) of",
        peers,
        re.M,
    ).groups()
    assert f"costs us ×{td3} of TD3's and ×{sac} of SAC's CPU time" in readme
    assert f"`benchmarks.peer_speed`: {ours} s with the compiled update" in readme
    study = json.loads((REPO / "results" / "solve" / "study.json").read_text())["study_seconds"]
    assert f"the 5-seed study's {round(study / 60)} minutes" in readme  # "Cost", Ray's share
    assert f"`study_seconds: {round(study)}` in `results/solve/study.json`" in readme
