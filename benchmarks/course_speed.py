"""Seconds per training episode on the course path, before and after, and in-process, in one run.

Five variants of the same training (default ``DDPGConfig``, seed 0, full 1001-step episodes),
each in a process of its own (one ``UnityEnvironment`` per process; the old client needs the
old protobuf):

- ``course, before``: through ``Reacher_Linux/Reacher.x86_64`` and the genuine client exactly
  as shipped (``unityagents.UnityEnvironment``, not ``unity_session``'s, whose in-process
  channel now spares it a pickling per message) with its 2018 message modules on pure-Python
  protobuf 3.20.3 (``.venv/unityagents-2018``, kept by ``setup.sh``), the eager learner,
  strictly in turn: the course path before this project's speed work;
- ``course, now``: the same client with its regenerated modules on compiled protobuf (upb),
  the compiled learner, updating while the simulator steps: what ``make train`` runs now;
- ``in-process, before``: the eager learner on ``ReacherSim``, strictly in turn;
- ``in-process, compiled`` and ``in-process, compiled, while stepping``: the compiled learner
  on ``ReacherSim``, in turn and in a learner thread (where the simulator and the learner
  share one process and contend for Python's lock).

All five processes start together and train one warm-up episode each (it pays for compiling
the update, 1-6 s with a warm cache); then they take turns, one timed episode at a time, so
that a slower minute of the machine (a neighbour's job on the host) hits every variant alike
rather than the one that happened to run then. While one runs, the others are stopped
(SIGSTOP to the process group, simulator included): an idle gRPC client still takes a few
percent of a core. A variant's figure is its median wall-clock seconds per timed episode (the
simulator and the learner are two processes on the course path, so CPU time of one would not
do). The last line is
``course_episode_s: X (xR of before; xQ of in-process)``, with both ratios against this run
(in-process: the faster of the two compiled in-process variants).

    python -m benchmarks.course_speed [--episodes 2] [--worker-id 62]
"""

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from ddpg_agent import Agent, DDPGConfig
from environments import open_env, open_unity
from scripts.regenerate_unity_messages import legacy_client_environment
from train import run_episode

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {  # name: (environment, compiled learner, 2018 client, learn while stepping)
    "course, before": ("genuine", False, True, False),
    "course, now": ("unity", True, False, True),
    "in-process, before": ("sim", False, False, False),
    "in-process, compiled": ("sim", True, False, False),
    "in-process, compiled, while stepping": ("sim", True, False, True),
}


EPISODE_TAG = "episode_seconds"  # how a child reports a timed episode among its other output


def serve(variant: str, worker_id: int) -> None:
    """In this process: one warm-up episode, then one timed episode per line read on stdin."""
    kind, compiled, _, overlap = VARIANTS[variant]
    torch.set_num_threads(1)
    if kind == "genuine":
        from unityagents import UnityEnvironment

        opened = open_unity(UnityEnvironment, 0, worker_id)
    else:
        opened = open_env(kind, 0, worker_id)
    with opened as env:
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
        run_episode(env, agent)
        print("ready", flush=True)
        for _ in sys.stdin:
            start = time.perf_counter()
            run_episode(env, agent)
            print(f"{EPISODE_TAG} {time.perf_counter() - start}", flush=True)


class Child:
    """One variant in a process of its own, with the 2018 client where the variant asks."""

    def __init__(self, variant: str, worker_id: int) -> None:
        env = dict(os.environ)
        if VARIANTS[variant][2]:
            try:
                env = legacy_client_environment(env)
            except FileNotFoundError as error:
                raise SystemExit(str(error)) from None
        command = [sys.executable, "-m", "benchmarks.course_speed", "--child", variant]
        command += ["--worker-id", str(worker_id)]
        self.variant, self.output = variant, []
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a process group of its own, with its simulator
        )

    def signal(self, number: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def read_until(self, tag: str) -> str:
        """The next line of the child's output that starts with ``tag``."""
        for line in self.process.stdout:
            if line.startswith(tag):
                return line
            self.output.append(line)
        raise SystemExit(f"{self.variant} failed:\n{''.join(self.output)[-3000:]}")

    def episode(self) -> float:
        """Wake the child, time one episode, stop it again."""
        self.signal(signal.SIGCONT)
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        seconds = float(self.read_until(EPISODE_TAG).split()[1])
        self.signal(signal.SIGSTOP)
        return seconds

    def close(self) -> None:
        self.signal(signal.SIGCONT)
        if self.process.stdin:
            self.process.stdin.close()  # the child's loop ends and it closes its environment
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=2, help="timed episodes per variant")
    parser.add_argument(
        "--worker-id", type=int, default=62, help="unity: ports 5005 + this and the next"
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        serve(args.child, args.worker_id)
        return

    print(f"torch {torch.__version__}, 1 thread, {args.episodes} timed episodes per variant")
    children = [Child(variant, args.worker_id + i) for i, variant in enumerate(VARIANTS)]
    try:
        for child in children:
            child.read_until("ready")
            child.signal(signal.SIGSTOP)
        seconds = {child.variant: [] for child in children}
        for _ in range(args.episodes):
            for child in children:
                seconds[child.variant].append(child.episode())
    finally:
        for child in children:
            child.close()
    medians = {variant: statistics.median(s) for variant, s in seconds.items()}
    for variant, median in medians.items():
        episodes = ", ".join(f"{s:.1f}" for s in seconds[variant])
        print(f"{variant:>36}: {median:6.2f} s per episode (episodes {episodes})")
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
