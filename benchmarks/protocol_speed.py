"""20-agent steps/s through the genuine unityagents 0.4 client, and in-process for comparison.

Usage, from the repository root:
    python -m benchmarks.protocol_speed [--steps 1000] [--worker-id 61] [--session]

--session measures `unity_session.UnityEnvironment` instead, the wrapped client the notebook
and train.py use (its in-process channel to gRPC's handler spares the pipe's pickling).

Through the genuine client, most of a step is the client's own protobuf work and pipe
hand-off (docs/performance.md, Through the protocol), so the client's and the simulator's CPU
time per step are reported too, the latter read from /proc. The last line is
`unity_steps_per_s: N`."""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import unityagents

import unity_session
from reacher.sim import ReacherSim

REPO = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def random_actions(steps: int, seed: int = 0) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).standard_normal((steps, 20, 4)), -1, 1)


def unity_speed(steps: int, worker_id: int, environment_class: type) -> tuple[float, float, float]:
    """Steps/s through the client, and client and simulator CPU ms per step."""
    actions = random_actions(steps)
    env = environment_class(
        file_name=str(REPO / "Reacher_Linux" / "Reacher.x86_64"),
        worker_id=worker_id,
        no_graphics=True,
    )
    try:
        env.reset(train_mode=True)
        for a in actions[:20]:  # warm-up
            env.step(a)
        sim_cpu, client_cpu, start = cpu_seconds(env.proc1.pid), time.process_time(), time.time()
        for a in actions:
            env.step(a)
        elapsed = time.time() - start
        client_ms = (time.process_time() - client_cpu) / steps * 1e3
        sim_ms = (cpu_seconds(env.proc1.pid) - sim_cpu) / steps * 1e3
    finally:
        env.close()
        env.proc1.wait()
    return steps / elapsed, client_ms, sim_ms


def in_process_speed(steps: int) -> float:
    actions = random_actions(steps).astype(np.float32)
    sim = ReacherSim(seed=0)
    sim.reset()
    start = time.perf_counter()
    for a in actions:
        sim.step(a)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--worker-id", type=int, default=61)
    parser.add_argument("--session", action="store_true", help="unity_session's client")
    args = parser.parse_args()
    client = unity_session if args.session else unityagents
    in_process = in_process_speed(args.steps)
    unity, client_ms, sim_ms = unity_speed(args.steps, args.worker_id, client.UnityEnvironment)
    print(f"in_process_steps_per_s: {in_process:.0f}")
    print(f"client_cpu_ms_per_step: {client_ms:.2f}")
    print(f"simulator_cpu_ms_per_step: {sim_ms:.2f}")
    print(f"unity_steps_per_s: {unity:.0f}")


if __name__ == "__main__":
    main()
