"""studies/: the Ray study runner, through a tiny multi-seed study, a tiny Optuna sweep and a
tiny dynamics-fidelity study."""

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import ray

import reacher.mjcf
import reacher.sim
from scores import read_scores
from studies import dynamics_fidelity, solve, sweep
from studies.runner import MedianAtMilestones, command_line, connect, run_name

TINY = ["--max-steps", "20"]  # 20-step episodes: the runner is under test, not learning


@pytest.fixture(scope="module")
def local_ray():
    """A small local Ray instance: two CPUs, no dashboard, its files in a temporary folder
    (Tune's lock files too: RAY_TMPDIR, else /tmp/_ray_lockfiles)."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must be
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = temp
    try:
        connect(None, num_cpus=2, _temp_dir=temp, log_to_driver=False)
        yield
    finally:  # also when Ray failed to start
        ray.shutdown()
        if previous is None:
            del os.environ["RAY_TMPDIR"]
        else:
            os.environ["RAY_TMPDIR"] = previous
        shutil.rmtree(temp, ignore_errors=True)


def test_run_names():
    assert run_name({"seed": 0}) == "seed_0"
    assert run_name({"tau": 0.005, "seed": 1, "actor_hidden": (64, 32)}, "a1b2") == (
        "a1b2-actor_hidden_64,32-seed_1-tau_0.005"
    )


def test_median_rule_stops_below_the_median_of_earlier_trials(tmp_path, capsys):
    rule = MedianAtMilestones((10,), tmp_path / "stopped.jsonl")

    def decision(run: str, episode: int, value: float) -> str:
        result = {"run": run, "episode": episode, "window_mean": value}
        return rule.on_trial_result(None, None, result)

    assert decision("a", 10, 5.0) == rule.CONTINUE  # nothing to compare with yet
    assert decision("b", 10, 1.0) == rule.CONTINUE  # one earlier trial is too few
    assert decision("c", 9, 0.0) == rule.CONTINUE  # not a milestone
    assert decision("c", 10, 3.0) == rule.CONTINUE  # median of 5 and 1 is 3: not below
    assert decision("d", 10, 2.9) == rule.STOP
    assert "stopped d: window mean 2.900 at episode 10 is below 3.000" in capsys.readouterr().out
    assert [line.count('"run": "d"') for line in rule.log.read_text().splitlines()] == [1]


def test_solve_study_runs_resumes_and_refuses_other_arguments(local_ray, tmp_path, capsys):
    out = tmp_path / "solve"
    args = ["--seeds", "0", "1", "--max-episodes", "2", "--eval-episodes", "1", "--out", str(out)]
    solve.main(args + TINY)
    assert capsys.readouterr().out.splitlines()[-1] == "median_window_end: inf"  # unsolved
    for seed in (0, 1):
        run = out / f"seed_{seed}"
        assert read_scores(run / "scores.csv").scores.shape == (2, 20)
        assert '"seed": ' + str(seed) in (run / "config.json").read_text()
        assert (run / "checkpoint_actor.pth").exists() and (run / "greedy_eval.csv").exists()
    for name in ("summary.csv", "summary.md", "study.json", "curves.png"):
        assert (out / name).exists()
    assert json.loads((out / "study.json").read_text())["jobs"] == 2  # both CPUs, side by side
    written = (out / "seed_0" / "scores.csv").stat().st_mtime_ns

    solve.main(args + TINY)  # the same command again: every trial has finished, none reruns
    assert "resuming the study" in capsys.readouterr().out
    assert (out / "seed_0" / "scores.csv").stat().st_mtime_ns == written
    with pytest.raises(SystemExit, match="other arguments"):
        solve.main(args + ["--max-steps", "30"])


def test_optuna_sweep_writes_runs_table_and_plot(local_ray, tmp_path, capsys):
    out = tmp_path / "sweep"
    command = ["--name", "t", "--out", str(out), "--episodes", "2", "--optuna", "--samples", "2"]
    sweep.main(command + ["--loguniform", "lr_actor", "1e-4", "1e-2"] + TINY)
    runs = sorted(p.parent.name for p in out.glob("*/scores.csv"))
    assert len(runs) == 2  # one per sample
    rates = [float(name.split("lr_actor_")[1].split("-")[0]) for name in runs]
    assert all(1e-4 <= r <= 1e-2 for r in rates) and not np.isclose(*rates)
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("best: ") and last.split()[1] in runs and "window_mean" in last
    assert all(f"| {name} |" in (out / "summary.md").read_text() for name in runs)
    assert (out / "curves.png").exists()


def test_dynamics_variants_leave_the_simulator_builder_alone():
    swapped = dynamics_fidelity.make_sim("physx_joint_b", seed=0, num_agents=1)
    assert [swapped.model.joint(i).name for i in range(2)] == ["A0_x", "A0_z"]
    assert reacher.sim.build_mjcf is reacher.mjcf.build_mjcf  # restored for the next variant
    shipped = dynamics_fidelity.make_sim("physx", seed=0, num_agents=1)
    assert [shipped.model.joint(i).name for i in range(2)] == ["A0_z", "A0_x"]


def test_dynamics_study_writes_one_row_per_variant(local_ray, tmp_path, capsys):
    out = tmp_path / "dynamics"
    variants = ["exact", "physx_joint_b"]  # the two kinds of swap: velocity step, model
    args = ["--episodes", "2", "--max-steps", "20", "--out", str(out), "--variants", *variants]
    dynamics_fidelity.main(args)
    printed = capsys.readouterr().out
    with open(out / "random_policy.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    committed = dynamics_fidelity.OUT / dynamics_fidelity.TABLE
    with open(committed, newline="") as f:
        assert list(rows[0]) == next(csv.reader(f))  # the committed table's columns
    assert [r["variant"] for r in rows] == variants
    for row in rows:
        assert row["episodes"] == "2" and len(row["scores"].split()) == 2
        assert float(row["min_score"]) <= float(row["mean_score"]) <= float(row["max_score"])
        assert float(row["kinetic_energy_random"]) > 0
        assert f"{row['variant']:>22}: random-policy score" in printed
    assert float(rows[0]["max_angular_speed"]) <= 7.0 + 1e-4  # exact: clamped after the step
    assert sorted(p.name for p in (out / "variants").iterdir()) == [f"{v}.json" for v in variants]
    assert "physx_joint_b (on " in printed  # progress reported to Tune per episode
    table = (out / "random_policy.csv").read_text()

    dynamics_fidelity.main(args)  # again: both trials have finished, the table is rebuilt
    assert "resuming the study" in capsys.readouterr().out
    assert (out / "random_policy.csv").read_text() == table


# ----- arguments and Ctrl-C: checked before Ray starts ---------------------------------------
def test_a_study_refuses_duplicate_seeds_before_starting(tmp_path, capsys):
    with pytest.raises(SystemExit):
        solve.main(["--seeds", "0", "0", "--out", str(tmp_path / "s")])
    assert "--seeds must differ, got 0 0" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--eval-episodes", "0"], "--eval-episodes: must be an int >= 1, got '0'"),
        (["--max-steps", "0"], "--max-steps: must be an int >= 1, got '0'"),
        (["--set", "nosuchkey=1"], "bad setting 'nosuchkey=1'"),
        (["--set", "gamma=5"], "gamma must be a number in [0, 1], got 5"),
    ],
)
def test_a_study_checks_its_arguments_in_one_line_before_starting(
    tmp_path, capsys, arguments, message
):
    with pytest.raises(SystemExit) as exit:
        solve.main(["--seeds", "0", "--out", str(tmp_path / "s"), *arguments])
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert message in error[-1] and error[0].startswith("usage:")  # usage, then one line
    assert not any("Traceback" in line or "error" in line for line in error[:-1])
    assert not (tmp_path / "s").exists()


def test_a_sweep_refuses_zero_samples_before_starting(tmp_path, capsys):
    with pytest.raises(SystemExit):
        sweep.main(["--name", "x", "--out", str(tmp_path / "w"), "--samples", "0"])
    assert "--samples: must be an int >= 1, got '0'" in capsys.readouterr().err


def test_ctrl_c_ends_a_study_command_with_130_and_one_line(capsys):
    def interrupted() -> None:
        raise KeyboardInterrupt

    assert command_line(interrupted) == 130
    assert capsys.readouterr().err == (
        "interrupted: run the same command again to resume the study\n"
    )


def test_a_stopped_trial_continues_from_its_snapshot(tmp_path, capsys):
    """Unfinished seeds of a study once restarted from episode 1 when the study was rerun."""
    from studies.runner import Study, train_run

    study = Study(out=tmp_path, episodes=4, max_steps=20, by_trial=False)
    train_run(study, {"seed": 3}, "whole", lambda result: None)

    def stop_after_two(result: dict) -> None:
        if result["episode"] == 2:
            raise KeyboardInterrupt  # as Ray's stop of a trial, or Ctrl-C, arrives

    train_run(study, {"seed": 3}, "stopped", stop_after_two)
    assert len(read_scores(tmp_path / "stopped" / "scores.csv").scores) == 2
    train_run(study, {"seed": 3}, "stopped", lambda result: None)  # the study's rerun
    assert "from its snapshot after episode 2 (no episode lost)" in capsys.readouterr().out
    whole, continued = (read_scores(tmp_path / run / "scores.csv") for run in ("whole", "stopped"))
    np.testing.assert_array_equal(continued.scores, whole.scores)


def test_peer_row_gives_the_median_a_range_where_runs_were_cut_short(tmp_path):
    """A seed run for 35 episodes that never scored 30 could have got there at 36 or never:
    the median first episode is a range then, not the other seeds' median."""
    from scores import TrainResult, write_scores
    from studies.summarize_experiments import peer_row

    def run(name: str, episodes: int, first: int | None) -> Path:
        means = np.full(episodes, 10.0)
        if first is not None:
            means[first - 1 :] = 40.0
        write_scores(
            tmp_path / name / "scores.csv",
            TrainResult(np.repeat(means[:, None], 20, 1), np.ones(episodes)),
        )
        return tmp_path / name

    full = [run("a", 100, 28), run("b", 100, 16)]
    cut = [run("c", 35, 27), run("d", 35, None), run("e", 35, None)]
    row = peer_row("TD3", full + cut)  # the unreached could only come after 28: it is 28
    assert row[1:4] == ["28 / 16 / 27 / > 35 / > 35", "28", "100 / 100 / – / – / –"]
    cut_early = [run("f", 20, None), run("g", 20, None), run("h", 20, 12)]
    assert peer_row("TD3", full + cut_early)[2] == "21–28"
    assert peer_row("SAC", [run("i", 100, 60), *cut[1:]])[2] == "≥ 36"
