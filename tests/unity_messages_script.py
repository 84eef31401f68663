"""Child process of tests/test_unity_messages.py: the genuine client's messages, as bytes.

Builds the messages the genuine `unityagents` client sends (reset, step) with its own code, and
parses and re-serialises the ones the simulator sends (initialisation, step), with whichever
`communicator_objects` modules and protobuf this process imports. Prints one JSON object:
the hex of every message, the backend, and what the client reads out of a step.
"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from communicator_objects import UnityMessage
from google.protobuf.internal import api_implementation
from unityagents import UnityEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository
from reacher import wire  # noqa: E402

BRAIN, AGENTS, OBSERVATION, ACTION = "ReacherBrain", 20, 33, 4


def command_bytes(unity_input, deterministic: bool = False) -> bytes:
    """What RpcCommunicator.exchange sends: the input in a status-200 message."""
    message = UnityMessage()
    message.header.status = 200
    message.unity_input.CopyFrom(unity_input)
    return message.SerializeToString(deterministic=deterministic)


def main() -> None:
    rng = np.random.default_rng(0)
    client = object.__new__(UnityEnvironment)  # only the message builders are used
    client._n_agents = {BRAIN: AGENTS}
    client._brains = {BRAIN: SimpleNamespace(number_visual_observations=0)}
    actions = rng.uniform(-1, 1, AGENTS * ACTION).astype(np.float32).tolist()
    reset = client._generate_reset_input(True, {"goal_size": 5.0})
    # Protobuf leaves the order of map entries on the wire open, and the two backends differ:
    # with two reset parameters only the deterministic (key-sorted) encoding is comparable.
    reset_two = client._generate_reset_input(False, {"goal_speed": 1.0, "goal_size": 5.0})
    step = client._generate_step_input({BRAIN: actions}, {BRAIN: []}, {BRAIN: [""] * AGENTS})

    initialization = wire.encode_initialization(BRAIN, OBSERVATION, ACTION, {"goal_size": 5.0})
    observations = rng.standard_normal((AGENTS, OBSERVATION)).astype(np.float32)
    rewards = rng.choice(np.float32([0, 0.01, 0.04]), AGENTS)
    dones = rng.random(AGENTS) < 0.5
    sent = wire.StepEncoder(BRAIN, AGENTS, OBSERVATION, ACTION).encode(
        observations, np.array(actions, np.float32).reshape(AGENTS, ACTION), rewards, dones, dones
    )
    received = UnityMessage.FromString(sent)
    info = client._get_state(received.unity_output.rl_output)[0][BRAIN]
    print(
        json.dumps(
            {
                "backend": api_implementation.Type(),
                "reset": command_bytes(reset).hex(),
                "reset_two_sorted": command_bytes(reset_two, deterministic=True).hex(),
                "step": command_bytes(step).hex(),
                "initialization": UnityMessage.FromString(initialization).SerializeToString().hex(),
                "step_output": received.SerializeToString().hex(),
                "observations": info.vector_observations.tolist(),
                "observations_dtype": str(info.vector_observations.dtype),
                "rewards": info.rewards,
                "local_done": info.local_done,
            }
        )
    )


if __name__ == "__main__":
    main()
