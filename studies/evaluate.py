"""Greedy (noise-free) evaluation of an actor checkpoint on the 20-arm Reacher.

Loads ``model.Actor(33, 4)`` with the layer sizes and BatchNorm setting of ``DDPGConfig``
(defaults, or ``--set`` overrides as in ``train.py``), plays full 1001-step episodes without
exploration noise on a simulator seeded apart from the training seeds, in-process
(``--env sim``, the default) or through ``Reacher_Linux/Reacher.x86_64`` and the genuine
``unityagents`` client (``--env unity``), and writes the scores as ``train.py`` does
(``scores.py``: one row per episode, every arm's score). The last line printed is
``greedy_mean: X``, the mean over episodes of the per-episode 20-arm mean (the course's score).

    .venv/bin/python -m studies.evaluate --actor checkpoints/checkpoint_actor.pth \\
        --episodes 100 --seed 12345 --out results/greedy_eval.csv
"""

import argparse
from pathlib import Path

import torch

from ddpg_agent import Agent, CheckpointError, DDPGConfig, load_checked
from environments import open_env
from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE
from scores import write_scores
from train import evaluate, parse_overrides

TRAINING_SEEDS = range(5)  # the seeds of the committed run and of studies.solve


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actor", type=Path, default=Path("checkpoints/checkpoint_actor.pth"))
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12345, help="simulator seed (not 0-4)")
    parser.add_argument("--out", type=Path, default=Path("results/greedy_eval.csv"))
    parser.add_argument("--max-steps", type=int, default=None, help="truncate episodes (tests)")
    parser.add_argument("--env", choices=("sim", "unity"), default="sim")
    parser.add_argument("--worker-id", type=int, default=0, help="unity: port 5005 + this")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="DDPGConfig")
    args = parser.parse_args(argv)
    if args.seed in TRAINING_SEEDS:
        parser.error(f"--seed {args.seed} is a training seed; evaluate on unseen goals")
    if args.episodes < 1:
        parser.error("--episodes must be >= 1")
    try:
        config = DDPGConfig(**parse_overrides(args.set))
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    torch.set_num_threads(1)  # small networks: more threads only add overhead

    # The agent only acts here (act(add_noise=False)): its critic, buffer and noise stay unused.
    agent = Agent(OBSERVATION_SIZE, ACTION_SIZE, NUM_AGENTS, config, device="cpu")
    try:
        load_checked(agent.actor_local, args.actor, agent.device)
    except (FileNotFoundError, CheckpointError) as e:
        parser.exit(1, f"error: {e}\n")

    with open_env(args.env, args.seed, args.worker_id, train_mode=False) as env:
        result = evaluate(env, agent, args.episodes, args.max_steps)
    write_scores(args.out, result)

    scores, means = result.scores, result.episode_means
    steps = "full 1001-step" if args.max_steps is None else f"{args.max_steps}-step"
    print(
        f"actor: {args.actor}; {args.episodes} {steps} greedy episodes, "
        f"{args.env} environment, seed {args.seed}"
    )
    print(f"episode score (20-arm mean): {means.mean():.2f} ± {means.std():.2f}")
    print(f"worst / best episode: {means.min():.2f} / {means.max():.2f}")
    print(f"worst single arm: {scores.min():.2f}; episodes with mean >= 30: {(means >= 30).sum()}")
    print(f"wall-clock: {result.episode_seconds.sum():.1f} s; scores in {args.out}")
    greedy_mean = float(means.mean())
    print(f"greedy_mean: {greedy_mean:.4f}")
    return greedy_mean


if __name__ == "__main__":
    main()
