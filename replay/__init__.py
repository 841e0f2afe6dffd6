"""Replay for audits (`lingong replay ...`): read a log, prove it, re-run it, explain it.

Modules:
- `source`: read-only batched reading and decoding, `--until`, progress bars;
- `verify`: frames, hash chain, anchors, facts re-decided from the recorded commands,
  every decision re-derived (`Engine.reexecute_record`);
- `rebuild`: the state at a seq or a time (fold without deciding);
- `walk`: folding to the exact moment inside a record where the matcher ran;
- `explain`: candidates, score components and failed filters at that moment;
- `whatif` + `outcomes`: the same facts under another policy, side by side;
- `fairness` + `fairness_report` + `groups`: rates by age band and priority group among
  eligible workers, four-fifths impact ratios, PNG chart and HTML page;
- `cli`: the subcommands (also `python -m replay.cli verify LOG`).

Everything here only reads the log (no writer lock, no writes to the log folder).
"""
