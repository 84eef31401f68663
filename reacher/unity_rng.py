"""Unity's `UnityEngine.Random`, reproduced bit for bit (docs/environment.md, Random numbers).

Unity seeds a Xorshift128 generator from one 32-bit integer and derives its `Range` overloads
from the raw 32-bit output. With seed 0, the first two draws give agent 0 of the course build
its goal angle (46°) and goal speed (-0.16816485), matching the printed first observation.
"""

import numpy as np

_MASK32 = 0xFFFFFFFF
_MANTISSA = 0x7FFFFF  # Unity keeps the low 23 bits for its float draws


class UnityRandom:
    """Xorshift128 with Unity's seeding and its `Range(int, int)` / `Range(float, float)`."""

    def __init__(self, seed: int = 0) -> None:
        self.init_state(seed)

    def init_state(self, seed: int) -> None:
        """`Random.InitState(seed)`: s0 = seed, s(i+1) = s(i) * 1812433253 + 1 (mod 2**32)."""
        state = [seed & _MASK32]
        for _ in range(3):
            state.append((state[-1] * 1812433253 + 1) & _MASK32)
        self._x, self._y, self._z, self._w = state

    @property
    def state(self) -> tuple[int, int, int, int]:
        """The generator's four words, to continue it later (a run's snapshot)."""
        return self._x, self._y, self._z, self._w

    @state.setter
    def state(self, words: tuple[int, int, int, int]) -> None:
        self._x, self._y, self._z, self._w = (int(w) & _MASK32 for w in words)

    def next_uint(self) -> int:
        """The next raw 32-bit output of Xorshift128."""
        t = (self._x ^ (self._x << 11)) & _MASK32
        self._x, self._y, self._z = self._y, self._z, self._w
        self._w = (self._w ^ (self._w >> 19) ^ t ^ (t >> 8)) & _MASK32
        return self._w

    def range_int(self, low: int, high: int) -> int:
        """`Random.Range(int low, int high)`: an integer in [low, high)."""
        return low + self.next_uint() % (high - low)

    def range_float(self, low: float, high: float) -> np.float32:
        """`Random.Range(float low, float high)`, computed in float32 as Unity does."""
        value = np.float32(self.next_uint() & _MANTISSA) / np.float32(_MANTISSA)
        return np.float32(low) * value + np.float32(high) * (np.float32(1) - value)
