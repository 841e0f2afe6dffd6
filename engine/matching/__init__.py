"""Matching primitives of lingong: stores, spatial index, kernels, bell, search, navigation.

Modules (import them directly; this package imports nothing so that light users such as
`engine.rules` do not pay for numba and scipy):

- `skills`   SkillCodes: occupation code -> bit of a uint64 mask (at most 64 codes).
- `workers`  WorkerArrays: columnar worker store, row = worker number (also re-exports
             SkillCodes).
- `jobs`     JobArrays: columnar store of published jobs.
- `index`    CellIndex: H3 cell index (sorted base + delta + dead mask) with radius
             queries that never miss a point; choose_resolution, disk_k, step_radii;
             the disk and cell-circle caches every index shares.
- `rowsets`  merge_rows / sorted_unique_rows: row sets as ascending int64 arrays.
- `params`   layout and builders of the kernels' float64 parameter vectors, travel
             speeds, local (UTC+8) day helpers.
- `kernels`  numba kernels: rank_workers, rank_jobs, push_candidates, filter_within.
- `twins`    their plain-Python twins (bit-identical; tests and audits).
- `explain`  reasons(): why a worker was or was not a candidate, in words.
- `bell`     opening-bell batch assignment (exact), greedy fallback, brute force.
- `bell_flow` its maximum-weight solver: min-cost flow over jobs with slots (numba + twin);
- `bell_dense` the same over a job x job table, for bells of up to 1,024 jobs.
- `search`   KeywordIndex: CJK bigram inverted index for keyword search.
- `nav`      nav_links(): Amap / Baidu navigation deep links.

Everything here is deterministic: no clock, no randomness, no environment, no files.
"""
