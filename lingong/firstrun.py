"""The first run on a machine: say that the matching kernels compile, and compile them.

Owns: `kernels_cold()` (would numba have to compile the matching kernels now?) and
`prepare_kernels()`, which the CLI calls before a subcommand that runs the engine: when
the kernels are cold it prints one line to stderr, then compiles them on a tiny morning
in memory (`sim.demo.warm_up`), so the numba on-disk cache is warm for this and every
later run.

Invariants:
- The notice goes to stderr only, never to stdout (a `--json` document stays the only
  thing on stdout), and only when numba would really compile: the check asks numba's
  own cache locator for each kernel's index and whether that index is valid for the
  current source (numba's own stamp check), so it follows `NUMBA_CACHE_DIR`, in-tree
  `__pycache__` folders and the user-wide fallback alike.
- A check that cannot be made (numba internals changed) counts as warm: no notice rather
  than a wrong one.

Limits: reads one small index file per kernel in `KERNELS` (a few dozen); compilation
takes ~15 s on an idle machine (longer when the cores are busy).
"""

from __future__ import annotations

import importlib
import sys
from typing import TextIO

# the entry-point kernels of the engine; each one's compiled callees are cached with it
KERNELS = (
    ("engine.matching.threshold", "rank_waiting"),
    ("engine.matching.waiting", "add_member"),
    ("engine.matching.kernels", "rank_jobs"),
    ("engine.matching.kernels", "push_candidates"),
    ("engine.matching.index", "_merge"),
    ("engine.matching.index", "_gather"),
    ("engine.matching.topk", "heap_drain"),
)
NOTICE = (
    "lingong: first run on this machine: compiling the matching kernels (numba, about "
    "15 s on an idle machine; cached for later runs)"
)


def _cached(dispatcher: object) -> bool:
    """True when numba holds a valid on-disk index (compiled code) for `dispatcher`."""
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    load_index = getattr(cache_file, "_load_index", None)
    if load_index is None:
        return True  # not a caching dispatcher, or numba's internals moved: assume warm
    try:
        return bool(load_index())  # {} when the index is missing, stale or unreadable
    except Exception:  # noqa: BLE001 - an index numba cannot read is one it will rewrite
        return False


def kernels_cold() -> bool:
    """Would running the engine compile its numba kernels now?"""
    for module_name, name in KERNELS:
        dispatcher = getattr(importlib.import_module(module_name), name, None)
        if dispatcher is not None and not _cached(dispatcher):
            return True
    return False


def prepare_kernels(stream: TextIO | None = None) -> bool:
    """When the kernels are cold: one line on `stream` (stderr), then compile them.

    Returns True when it compiled.
    """
    if not kernels_cold():
        return False
    out = stream if stream is not None else sys.stderr
    print(NOTICE, file=out, flush=True)
    from sim.demo import warm_up

    warm_up()
    return True
