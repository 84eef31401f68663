"""Seconds per training episode on the course path, before and after, and in-process, in one run.

Five variants of the same training (default ``DDPGConfig``, seed 0, full 1001-step episodes),
each in a process of its own (one ``UnityEnvironment`` per process; the old client needs the
old protobuf):

- ``course, before``: through ``Reacher_Linux/Reacher.x86_64`` and the genuine client with its
  2018 message modules on pure-Python protobuf 3.20.3 (``.venv/unityagents-2018``, kept by
  ``setup.sh``), the eager learner, strictly in turn: what ``make train`` ran before;
- ``course, now``: the same client with its regenerated modules on compiled protobuf (upb),
  the compiled learner, updating while the simulator steps: what ``make train`` runs now;
- ``in-process, before``: the eager learner on ``ReacherSim``, strictly in turn;
- ``in-process, compiled`` and ``in-process, compiled, while stepping``: the compiled learner
  on ``ReacherSim``, in turn and in a learner thread (where the simulator and the learner
  share one process and contend for Python's lock).

Each process trains one warm-up episode (it pays for compiling the update, 1-6 s with a warm
cache) and then ``--episodes`` timed ones; a variant's figure is its median wall-clock
seconds per timed episode (the simulator and the learner are two processes on the course
path, so CPU time of one would not do). Run it on a quiet machine: a neighbour's job inflates
all four, and not alike. The last line is
``course_episode_s: X (xR of before; xQ of in-process)``, with both ratios against this run
(in-process: the faster of the two compiled in-process variants).

    python -m benchmarks.course_speed [--episodes 2] [--worker-id 62]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from ddpg_agent import Agent, DDPGConfig
from environments import open_env
from scripts.regenerate_unity_messages import legacy_client_environment
from train import run_episode

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {  # name: (environment, compiled learner, 2018 client, learn while stepping)
    "course, before": ("unity", False, True, False),
    "course, now": ("unity", True, False, True),
    "in-process, before": ("sim", False, False, False),
    "in-process, compiled": ("sim", True, False, False),
    "in-process, compiled, while stepping": ("sim", True, False, True),
}


def measure(variant: str, episodes: int, worker_id: int) -> list[float]:
    """In this process: one warm-up and ``episodes`` timed training episodes."""
    kind, compiled, _, overlap = VARIANTS[variant]
    torch.set_num_threads(1)
    seconds = []
    with open_env(kind, seed=0, worker_id=worker_id) as env:
        agent = Agent(
            env.state_size,
            env.action_size,
            env.num_agents,
            DDPGConfig(),
            0,
            "cpu",
            compiled,
            overlap,
        )
        for episode in range(episodes + 1):
            start = time.perf_counter()
            run_episode(env, agent)
            if episode > 0:
                seconds.append(time.perf_counter() - start)
    return seconds


def run_variant(variant: str, episodes: int, worker_id: int) -> list[float]:
    """``measure`` in a child process, with the 2018 client where the variant asks for it."""
    env = dict(os.environ)
    if VARIANTS[variant][2]:
        try:
            env = legacy_client_environment(env)
        except FileNotFoundError as error:
            raise SystemExit(str(error)) from None
    command = [sys.executable, "-m", "benchmarks.course_speed", "--child", variant]
    command += ["--episodes", str(episodes), "--worker-id", str(worker_id)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=2, help="timed episodes per variant")
    parser.add_argument("--worker-id", type=int, default=62, help="unity: port 5005 + this")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.episodes, args.worker_id)))
        return

    print(f"torch {torch.__version__}, 1 thread, {args.episodes} timed episodes per variant")
    medians = {}
    for variant in VARIANTS:
        seconds = run_variant(variant, args.episodes, args.worker_id)
        medians[variant] = statistics.median(seconds)
        episodes = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{variant:>36}: {medians[variant]:6.2f} s per episode (episodes {episodes})")
    in_process_now = min(
        medians["in-process, compiled"], medians["in-process, compiled, while stepping"]
    )
    print(f"in-process: now x{in_process_now / medians['in-process, before']:.2f} of before")
    now = medians["course, now"]
    before = now / medians["course, before"]
    in_process = now / in_process_now
    print(f"course_episode_s: {now:.2f} (x{before:.2f} of before; x{in_process:.2f} of in-process)")


if __name__ == "__main__":
    main()
