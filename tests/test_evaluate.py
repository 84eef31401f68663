"""studies.evaluate: greedy evaluation of an actor checkpoint, its CSV and its last line."""

import numpy as np
import pytest
import torch

from ddpg_agent import DDPGConfig
from model import Actor
from reacher.sim import ReacherSim
from scores import read_scores
from studies.evaluate import main


@pytest.fixture
def actor_file(tmp_path):
    """A freshly initialised actor whose outputs are scaled up so that the arms really move."""
    config = DDPGConfig()
    torch.manual_seed(3)
    actor = Actor(33, 4, config.actor_hidden, config.batch_norm)
    with torch.no_grad():
        actor.fc3.weight.mul_(300.0)
    path = tmp_path / "checkpoint_actor.pth"
    torch.save(actor.state_dict(), path)
    return path, actor


def test_csv_rows_and_last_line_agree_with_a_noise_free_rollout(actor_file, tmp_path, capsys):
    path, actor = actor_file
    out = tmp_path / "eval" / "greedy.csv"
    seed, steps = 7, 120
    command = f"--actor {path} --episodes 2 --seed {seed} --max-steps {steps} --out {out}"
    value = main(command.split())
    last_line = capsys.readouterr().out.strip().splitlines()[-1]

    logged = read_scores(out)  # the trainer's format: scores.py
    arms = logged.scores
    assert arms.shape == (2, 20) and (logged.episode_seconds > 0).all()

    key, _, printed = last_line.partition(": ")
    assert key == "greedy_mean"
    assert float(printed) == pytest.approx(value, abs=1e-4)
    assert value == pytest.approx(logged.episode_means.mean(), abs=1e-4)

    # The same episodes played by hand with the saved actor and no noise: the loaded weights
    # are used and nothing is added to the actions.
    sim = ReacherSim(num_agents=20, seed=seed)
    actor.eval()
    expected = np.zeros((2, 20))
    for episode in range(2):
        states = sim.reset()
        for _ in range(steps):
            with torch.no_grad():
                actions = actor(torch.from_numpy(states)).numpy()
            states, rewards, *_ = sim.step(actions)
            expected[episode] += rewards
    assert expected.sum() > 0, "the test actor should reach some goals"
    np.testing.assert_allclose(arms, expected, atol=1e-4)


def test_training_seeds_and_mismatched_checkpoints_are_refused(actor_file, tmp_path, capsys):
    path, _ = actor_file
    out = tmp_path / "greedy.csv"
    with pytest.raises(SystemExit) as e:
        main(["--actor", str(path), "--seed", "0", "--out", str(out)])
    assert e.value.code == 2
    assert "training seed" in capsys.readouterr().err
    # The checkpoint has BatchNorm layers; an actor without them cannot take it.
    with pytest.raises(SystemExit) as e:
        main(
            f"--actor {path} --episodes 1 --max-steps 5 --out {out} --set batch_norm=false".split()
        )
    assert e.value.code == 1
    assert "does not fit" in capsys.readouterr().err
    assert not out.exists()
