"""Occupation codes to skill bits.

Owns: `SkillCodes`, the mapping from occupation code strings ("construction", "moving",
GB/T 6565 occupation codes such as "4-08-09-01") to bit positions of the uint64 skill
masks kept by `WorkerArrays.skills` and the `skill_bit` of `JobArrays`.

Invariants:
- A code gets the next free bit the first time it is seen (`mask`, `register`), so the
  mapping is a pure function of the order of events: replay gives the same bits.
- Codes are compared exactly as given (no case folding, no trimming); normalise them
  before they reach the engine.
- `bit` and `mask_known` never register anything.

Limits: at most `MAX_SKILLS` = 64 distinct codes per engine (one uint64 per worker);
the 65th new code raises `ValueError`, and the command carrying it must be refused.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_SKILLS = 64


class SkillCodes:
    """Occupation code -> bit position (0..63), assigned in the order first seen."""

    __slots__ = ("_bits", "_codes")

    def __init__(self, codes: Iterable[str] = ()) -> None:
        self._bits: dict[str, int] = {}
        self._codes: list[str] = []
        for code in codes:
            self.register(code)

    def register(self, code: str) -> int:
        """Bit of `code`, assigning the next free bit to a new code."""
        bit = self._bits.get(code)
        if bit is not None:
            return bit
        if not isinstance(code, str) or not code:
            raise ValueError(f"occupation code must be a non-empty string, got {code!r}")
        if len(self._codes) >= MAX_SKILLS:
            raise ValueError(
                f"too many distinct occupation codes: {code!r} would be number "
                f"{MAX_SKILLS + 1}, the limit is {MAX_SKILLS} per engine"
            )
        bit = len(self._codes)
        self._bits[code] = bit
        self._codes.append(code)
        return bit

    def bit(self, code: str) -> int | None:
        """Bit of a known code, None for a code never seen."""
        return self._bits.get(code)

    def mask(self, codes: Iterable[str]) -> int:
        """Mask (int in [0, 2**64)) of `codes`, registering new ones."""
        out = 0
        for code in codes:
            out |= 1 << self.register(code)
        return out

    def mask_known(self, codes: Iterable[str]) -> int:
        """Mask of the known codes among `codes`; unknown codes are ignored."""
        out = 0
        for code in codes:
            bit = self._bits.get(code)
            if bit is not None:
                out |= 1 << bit
        return out

    def codes(self, mask: int) -> list[str]:
        """Codes whose bits are set in `mask`, in bit order."""
        return [code for bit, code in enumerate(self._codes) if (mask >> bit) & 1]

    def code(self, bit: int) -> str:
        return self._codes[bit]

    def to_list(self) -> list[str]:
        """The codes in bit order (for snapshots: `SkillCodes(to_list())` restores)."""
        return list(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, code: object) -> bool:
        return code in self._bits
