"""Carrying a posting's terms (and any other fields) from one struct to the next by name.

Owns: `carry(src, Dst, **given)`, used where a command becomes its fact, a fact becomes
state, and state becomes a decision or a view: every field of `Dst` that `src` has by
the same name is taken from `src`, the rest comes from `given`. A new field on a posting
(a command field with the same name on its fact, its `Job` and the decisions that repeat
it) then needs no edit in the rules, the fold or the reactions.

Invariants: a field of the same name means the same thing on both structs (a field that
does not, such as a command's `ts_ms` against the server's stamp, is passed in `given`,
which always wins); only declared struct fields are read (no properties or methods).

Limits: msgspec structs only; the field-name table is cached per pair of types.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def _shared(src: type, dst: type) -> tuple[str, ...]:
    have = set(getattr(src, "__struct_fields__", ()))
    return tuple(n for n in getattr(dst, "__struct_fields__", ()) if n in have)


def carry(src: Any, dst: type[T], **given: Any) -> T:
    """`dst(**given)` plus every field of `dst` that `src` has by name (not in `given`)."""
    taken = {n: getattr(src, n) for n in _shared(type(src), dst) if n not in given}
    return dst(**taken, **given)
