"""Hand-written proto3 encoding of the ML-Agents 0.4 ("API-4") messages Reacher exchanges.

The simulator plays Unity's side of `communicator_objects.UnityToExternal/Exchange`: it sends a
`UnityMessage` carrying a `UnityOutput` and receives one carrying a `UnityInput`. Only the
fields Reacher uses are written or read (schema: docs/protocol.md). Writing the bytes by hand
instead of importing the 2018 generated protobuf classes removes the simulator's dependency on
the installed protobuf version, and lets the per-step output be laid out once as a numpy
record array so that encoding a step is a few array copies.
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

STATUS_OK = 200
COMMAND_STEP, COMMAND_RESET, COMMAND_QUIT = 0, 1, 2
_SPACE_CONTINUOUS = 1
_BRAIN_EXTERNAL = 2
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


# --- encoding ------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32s are sign-extended to 64 bits on the wire
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _int(number: int, value: int) -> bytes:
    return _tag(number, _VARINT) + _varint(value)


def _float(number: int, value: float) -> bytes:
    return _tag(number, _FIXED32) + struct.pack("<f", value)


def _sub(number: int, payload: bytes) -> bytes:
    """A length-delimited field: string, bytes, packed repeated scalars or sub-message."""
    return _tag(number, _LEN) + _varint(len(payload)) + payload


def _str(number: int, text: str) -> bytes:
    return _sub(number, text.encode())


def _unity_message(status: int, unity_output: bytes | None = None, message: str = "") -> bytes:
    header = _int(1, status) + (_str(2, message) if message else b"")
    return _sub(1, header) + (b"" if unity_output is None else _sub(2, unity_output))


def encode_status(status: int = STATUS_OK, message: str = "") -> bytes:
    """A `UnityMessage` with only a header: the mandatory empty second message, or an error."""
    return _unity_message(status, message=message)


def encode_initialization(
    brain_name: str,
    observation_size: int,
    action_size: int,
    reset_parameters: dict[str, float],
) -> bytes:
    """The handshake `UnityMessage`: academy `Academy`, API-4, one External continuous brain."""
    brain = (
        _int(1, observation_size)
        + _int(2, 1)  # num_stacked_vector_observations
        + _int(3, action_size)
        + b"".join(_str(5, "") for _ in range(action_size))  # vector_action_descriptions
        + _int(6, _SPACE_CONTINUOUS)  # vector_action_space_type
        + _int(7, _SPACE_CONTINUOUS)  # vector_observation_space_type
        + _str(8, brain_name)
        + _int(9, _BRAIN_EXTERNAL)
    )
    float_parameters = b"".join(
        _sub(1, _str(1, key) + _float(2, value)) for key, value in reset_parameters.items()
    )
    initialization = (
        _str(1, "Academy")
        + _str(2, "API-4")
        + _sub(5, brain)  # field 4 does not exist in this schema version
        + _sub(6, float_parameters)
    )
    return _unity_message(STATUS_OK, _sub(2, initialization))  # = rl_initialization_output


class StepEncoder:
    """Encodes one brain's per-step `UnityRLOutput` for a fixed number of agents.

    With every field always written (proto3 allows explicit defaults), each agent's
    `AgentInfoProto` has the same size, so the whole message is a constant prefix followed by a
    packed numpy record array whose tag bytes are filled in once; a step only copies the floats.
    """

    def __init__(self, brain_name: str, num_agents: int, observation_size: int, action_size: int):
        if num_agents > 127:
            raise ValueError("agent ids are encoded as one-byte varints: at most 127 agents")
        # One AgentInfoProto, fields in wire order: 10 id, 1 stacked_vector_observation (packed),
        # 4 stored_vector_actions (packed), 7 reward, 8 done, 9 max_step_reached.
        obs_head = _tag(1, _LEN) + _varint(4 * observation_size)
        act_head = _tag(4, _LEN) + _varint(4 * action_size)
        info = [
            ("id", "u1", 2),
            ("obs_head", "u1", len(obs_head)),
            ("obs", "<f4", observation_size),
            ("act_head", "u1", len(act_head)),
            ("act", "<f4", action_size),
            ("reward_tag", "u1"),
            ("reward", "<f4"),
            ("done_tag", "u1"),
            ("done", "?"),
            ("max_tag", "u1"),
            ("max_reached", "?"),
        ]
        agent_head = _tag(1, _LEN) + _varint(np.dtype(info).itemsize)  # ListAgentInfoProto.value
        r = self._records = np.zeros(num_agents, dtype=[("head", "u1", len(agent_head)), *info])
        r["head"], r["obs_head"], r["act_head"] = list(agent_head), list(obs_head), list(act_head)
        r["id"] = [list(_int(10, agent_id)) for agent_id in range(num_agents)]
        r["reward_tag"] = _tag(7, _FIXED32)[0]
        r["done_tag"], r["max_tag"] = _tag(8, _VARINT)[0], _tag(9, _VARINT)[0]
        # Wrap the records in their enclosing messages, innermost first; each level's prefix is
        # constant because the records' size is.
        prefix = b""
        for number, before in [
            (2, _str(1, brain_name)),  # agentInfos map entry: key, then the ListAgentInfoProto
            (2, b""),  # UnityRLOutput.agentInfos (global_done false, omitted)
            (1, b""),  # UnityOutput.rl_output
            (2, _sub(1, _int(1, STATUS_OK))),  # UnityMessage: header, then unity_output
        ]:
            prefix = before + _tag(number, _LEN) + _varint(len(prefix) + r.nbytes) + prefix
        self._prefix = prefix

    def encode(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
        max_reached: np.ndarray,
    ) -> bytes:
        """One step's `UnityMessage`: (n, obs) observations, (n, act) last actions, (n,) rest."""
        r = self._records
        r["obs"], r["act"], r["reward"] = observations, actions, rewards
        r["done"], r["max_reached"] = dones, max_reached
        return self._prefix + r.tobytes()


# --- decoding ------------------------------------------------------------------------------


@dataclass
class UnityInput:
    """What the client asked for in one `UnityMessage` (absent fields keep proto3 defaults)."""

    status: int = 0
    seed: int | None = None  # set only in the handshake answer (rl_initialization_input)
    has_rl_input: bool = False
    command: int = COMMAND_STEP
    is_training: bool = False
    reset_parameters: dict[str, float] = field(default_factory=dict)
    actions: dict[str, np.ndarray] = field(default_factory=dict)  # brain -> flat float32


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _int32(value: int) -> int:
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yields (field number, wire type, value) with value an int for varints, else bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        wire_type = key & 7
        if wire_type == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire_type == _LEN:
            size, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire_type in (_FIXED32, _FIXED64):
            size = 4 if wire_type == _FIXED32 else 8
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield key >> 3, wire_type, value


def _map_entry(buf: bytes) -> tuple[str, bytes | int]:
    key, value = "", b""
    for number, _, item in _fields(buf):
        if number == 1:
            key = item.decode()
        elif number == 2:
            value = item
    return key, value


def _vector_actions(list_agent_actions: bytes) -> np.ndarray:
    """The vector_actions of every AgentActionProto in a ListAgentActionProto, concatenated."""
    chunks = []
    for _, _, agent_action in _fields(list_agent_actions):
        for number, wire_type, item in _fields(agent_action):
            if number == 1:  # packed, or one float per field if the sender did not pack
                chunks.append(item if wire_type == _LEN else item[:4])
    return np.frombuffer(b"".join(chunks), dtype="<f4")


def _rl_input(buf: bytes, into: UnityInput) -> None:
    into.has_rl_input = True
    for number, _, item in _fields(buf):
        if number == 1:
            brain, actions = _map_entry(item)
            into.actions[brain] = _vector_actions(actions)
        elif number == 2:
            for _, _, entry in _fields(item):  # EnvironmentParametersProto.float_parameters
                key, value = _map_entry(entry)
                into.reset_parameters[key] = struct.unpack("<f", value)[0] if value else 0.0
        elif number == 3:
            into.is_training = bool(item)
        elif number == 4:
            into.command = item


def decode_input(buf: bytes) -> UnityInput:
    """Decodes a `UnityMessage` sent by the client (header plus `unity_input`)."""
    result = UnityInput()
    for number, _, item in _fields(buf):
        if number == 1:  # header
            for header_field, _, value in _fields(item):
                if header_field == 1:
                    result.status = _int32(value)
        elif number == 3:  # unity_input
            for input_field, _, value in _fields(item):
                if input_field == 1:
                    _rl_input(value, result)
                elif input_field == 2:  # rl_initialization_input
                    result.seed = 0
                    for seed_field, _, seed in _fields(value):
                        if seed_field == 1:
                            result.seed = _int32(seed)
    return result
