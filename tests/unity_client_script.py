"""Child process of tests/test_unity_protocol.py: one genuine `unityagents` environment.

The genuine client hangs at interpreter exit without `close()` and allows one environment per
process (docs/protocol.md, pitfalls 5 and 6), so every test environment lives in its own process.

Usage: python unity_client_script.py WORKER_ID [--seed S] [--no-graphics] [--session]
                                     [--interruptible] [--interrupt-open SECONDS]

--session uses the project's `unity_session.UnityEnvironment` instead of the genuine class;
--interruptible lets SIGINT raise KeyboardInterrupt (as in a running cell) instead of counting it.
--interrupt-open sends this process a SIGINT that many seconds into a first open (as a Ctrl-C
during the notebook's "start the environment" cell), reports it, then opens again.

Prints one JSON line once the environment is open (or failed to open), then answers each JSON
command read from stdin with one JSON line:
  {"cmd": "reset", "train_mode": bool, "config": {...}}  -> observations, agents
  {"cmd": "step", "actions": [[...] * 4] * 20}            -> observations, rewards, dones, ...
      (optional "memory_floats": N sends N zeros of memory per agent)
  {"cmd": "episode"}  random actions until any agent is done -> steps, distinct rewards, ...
  {"cmd": "open", "worker_id": N}  open a second environment in this process -> its error
  {"cmd": "close"}    close() and reap the simulator     -> its return code
"""

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np
from unityagents import UnityEnvironment

LAUNCHER = "Reacher_Linux/Reacher.x86_64"
interrupts = 0


def count_interrupt(signum, frame) -> None:
    """Stand-in for Jupyter's handling of "interrupt kernel": note it and carry on."""
    global interrupts
    interrupts += 1


def reply(**fields) -> None:
    print(json.dumps(fields), flush=True)


def run_episode(env: UnityEnvironment, brain: str) -> dict:
    rng = np.random.default_rng(0)
    steps, rewards, max_reached_early = 0, set(), False
    while True:
        info = env.step(np.clip(rng.standard_normal((20, 4)), -1, 1))[brain]
        steps += 1
        rewards.update(info.rewards)
        if np.any(info.local_done):
            break
        max_reached_early |= any(info.max_reached)
    return dict(
        steps=steps,
        rewards=sorted(rewards),
        dones=info.local_done,
        max_reached=info.max_reached,
        max_reached_early=max_reached_early,
    )


def serve_commands(env: UnityEnvironment, brain: str, environment_class: type) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["cmd"] == "reset":
                config = command.get("config")
                info = env.reset(train_mode=command.get("train_mode", True), config=config)[brain]
                reply(observations=info.vector_observations.tolist(), agents=info.agents)
            elif command["cmd"] == "step":
                floats = command.get("memory_floats")  # per agent, to make a huge command
                memory = None if floats is None else np.zeros((20, floats))
                info = env.step(np.array(command["actions"]), memory=memory)[brain]
                reply(
                    observations=info.vector_observations.tolist(),
                    rewards=info.rewards,
                    dones=info.local_done,
                    max_reached=info.max_reached,
                    previous_actions=info.previous_vector_actions.tolist(),
                    interrupts=interrupts,
                )
            elif command["cmd"] == "episode":
                reply(**run_episode(env, brain))
            elif command["cmd"] == "open":
                environment_class(file_name=LAUNCHER, worker_id=command["worker_id"])
                reply(opened=True)
            elif command["cmd"] == "close":
                return
        except BaseException as error:  # the client raises KeyboardInterrupt on a non-200 status
            reply(error=type(error).__name__, message=str(error))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("worker_id", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-graphics", action="store_true")  # adds -nographics -batchmode
    parser.add_argument("--session", action="store_true")
    parser.add_argument("--interruptible", action="store_true")
    parser.add_argument("--interrupt-open", type=float, default=None)
    args = parser.parse_args()
    if not args.interruptible:
        signal.signal(signal.SIGINT, count_interrupt)
    environment_class = UnityEnvironment
    if args.session:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository
        import unity_session

        environment_class = unity_session.UnityEnvironment
    options = dict(worker_id=args.worker_id, seed=args.seed, no_graphics=args.no_graphics)
    if args.interrupt_open is not None:
        threading.Timer(args.interrupt_open, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            environment_class(file_name=LAUNCHER, **options)
            reply(interrupted_open=False)
        except KeyboardInterrupt:
            reply(interrupted_open=True)
    try:
        env = environment_class(file_name=LAUNCHER, **options)
    except Exception as error:
        reply(error=type(error).__name__, message=str(error))
        return
    try:
        brain = env.brain_names[0]
        reply(printout=str(env), brain=brain, simulator_pid=env.proc1.pid)
        serve_commands(env, brain, environment_class)
    finally:
        env.close()
        reply(returncode=env.proc1.wait())  # reaps the zombie close() leaves (pitfall 9)


if __name__ == "__main__":
    main()
