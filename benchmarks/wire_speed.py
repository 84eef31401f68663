"""The simulator's side of the protocol: its hand-written messages against the protobuf classes.

`reacher/wire.py` encodes each step's `UnityMessage` (20 agents' observations, last actions,
rewards and flags) and decodes each command by hand. The client's message modules, regenerated
at set-up for compiled protobuf (`communicator_objects`, docs/protocol.md), could do both. Per
step of 20 arms, in one run, alternating:
- encode: `wire.StepEncoder.encode` against the protobuf classes at their fastest found here
  (one message kept and refilled each step, as lists, then serialised);
- decode: `wire.decode_input` of a STEP command against `UnityMessage.FromString` and reading
  its actions into a float32 array.
Both sides are checked first: the two encodings parse to equal messages (their bytes differ
only in that wire.py also writes fields at their default values) and the decoded actions are
equal. The last line is the headline:
``wire_us_per_step: X (xR of the protobuf classes; encode xE, decode xD)``.

Usage, from the repository root:
    python -m benchmarks.wire_speed [--calls 2000] [--repeats 7]
"""

import argparse
import timeit

import numpy as np
from communicator_objects import AgentActionProto, UnityMessage

from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE, wire
from reacher.unity_server import BRAIN_NAME


class ProtobufStepEncoder:
    """The step's `UnityMessage` through the protobuf classes: one message, refilled."""

    def __init__(self) -> None:
        self.message = UnityMessage()
        self.message.header.status = wire.STATUS_OK
        infos = self.message.unity_output.rl_output.agentInfos[BRAIN_NAME].value
        self.infos = [infos.add(id=agent) for agent in range(NUM_AGENTS)]

    def encode(self, observations, actions, rewards, dones, max_reached) -> bytes:
        columns = (a.tolist() for a in (observations, actions, rewards, dones, max_reached))
        for info, obs, act, reward, done, max_step in zip(self.infos, *columns, strict=True):
            info.stacked_vector_observation[:] = obs
            info.stored_vector_actions[:] = act
            info.reward, info.done, info.max_step_reached = reward, done, max_step
        return self.message.SerializeToString()


def protobuf_decode(command: bytes) -> dict[str, np.ndarray]:
    """The command's actions per brain, as `wire.decode_input` returns them."""
    rl_input = UnityMessage.FromString(command).unity_input.rl_input
    return {
        brain: np.array([x for agent in actions.value for x in agent.vector_actions], np.float32)
        for brain, actions in rl_input.agent_actions.items()
    }


def us_per_call(fn, calls: int) -> float:
    """Microseconds per call of ``fn``, over ``calls`` calls."""
    return timeit.timeit(fn, number=calls) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks; the best counts")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    step = (
        rng.standard_normal((NUM_AGENTS, OBSERVATION_SIZE)).astype(np.float32),
        rng.uniform(-1, 1, (NUM_AGENTS, ACTION_SIZE)).astype(np.float32),
        rng.uniform(0, 0.04, NUM_AGENTS).astype(np.float32),
        np.zeros(NUM_AGENTS, bool),
        np.zeros(NUM_AGENTS, bool),
    )
    hand = wire.StepEncoder(BRAIN_NAME, NUM_AGENTS, OBSERVATION_SIZE, ACTION_SIZE)
    protobuf = ProtobufStepEncoder()
    same = UnityMessage.FromString(hand.encode(*step)) == UnityMessage.FromString(
        protobuf.encode(*step)
    )
    message = UnityMessage()
    message.header.status = wire.STATUS_OK
    agent_actions = message.unity_input.rl_input.agent_actions[BRAIN_NAME].value
    agent_actions.extend(AgentActionProto(vector_actions=a) for a in step[1].tolist())
    command = message.SerializeToString()
    decoded = np.array_equal(
        wire.decode_input(command).actions[BRAIN_NAME], protobuf_decode(command)[BRAIN_NAME]
    )
    print(f"step messages parse equal: {same}; decoded actions equal: {decoded}")

    timings = {
        "encode, wire.py": lambda: hand.encode(*step),
        "encode, protobuf": lambda: protobuf.encode(*step),
        "decode, wire.py": lambda: wire.decode_input(command),
        "decode, protobuf": lambda: protobuf_decode(command),
    }
    us = {name: [] for name in timings}
    for _ in range(args.repeats):  # alternating, so that noise hits all four alike
        for name, fn in timings.items():
            us[name].append(us_per_call(fn, args.calls))
    best = {name: min(values) for name, values in us.items()}  # the machine is shared
    for name, value in best.items():
        print(f"{name:>17}: {value:7.1f} us per step")
    encode = best["encode, wire.py"] / best["encode, protobuf"]
    decode = best["decode, wire.py"] / best["decode, protobuf"]
    ours = best["encode, wire.py"] + best["decode, wire.py"]
    theirs = best["encode, protobuf"] + best["decode, protobuf"]
    print(
        f"wire_us_per_step: {ours:.1f} (x{ours / theirs:.2f} of the protobuf classes; "
        f"encode x{encode:.2f}, decode x{decode:.2f})"
    )


if __name__ == "__main__":
    main()
