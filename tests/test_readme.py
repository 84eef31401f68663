"""The README states the facts a course reviewer checks, and they agree with the code."""

import re
from pathlib import Path

import numpy as np

from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE
from reacher.sim import REWARD_PER_PHYSICS_STEP
from scores import SOLVE_SCORE, WINDOW

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


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
