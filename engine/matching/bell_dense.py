"""Maximum-weight assignment of workers to jobs with slots over a dense job x job table.

Owns: `dense_flow_assign` (numba) and its plain-Python twin `py_dense_flow_assign`, used
by `engine.matching.bell.bell_assign` (objective "weight") when the bell has at most
`MAX_DENSE_JOBS` jobs (`engine.matching.bell_flow.flow_assign` above).

Method: the successive shortest paths of `bell_flow` (same network, same potentials,
workers added in index order), with the members of a job folded into one table row:
an assigned pair is tight, so a member i of job j has potential held_i + pi_j, and the
reduced cost of moving it from j to k is (pi_j - pi_k) - (s_ik - held_i). Per job j the
table keeps T[j, k] = max over its members of (s_ik - held_i) and A[j, k] the member
(ties: the lower worker), and W[j] / WA[j] its weakest member (the one that would leave).
A search relaxes a settled job's row over all jobs at once (two plain loops over
contiguous arrays: the first one vectorises and tells whether any label improves, the
second one, which updates them, runs only then: 7 % of the settles on the bench market);
only the rows of jobs whose members changed are rebuilt after an augmentation. Potentials live on jobs only.

Input/output as `bell_flow.flow_assign`: CSR pairs over workers (score finite, > 0;
a worker's jobs distinct), `cap[m]`; returns `job_of[n]` (-1: unassigned).

Invariants: deterministic; ties broken by node, never by order: the heap pops the least
(distance, job), the way to the sink keeps the least (distance, node) (workers 0..n-1,
then jobs n + j), a table entry the lower worker. The twin does the same float
operations in the same order (dicts for the table), so both return the same array
(tests compare on seeded random inputs with ties). Never fastmath; no clock, randomness
or I/O.

Limits: memory 16 * m^2 bytes for the table (m <= `MAX_DENSE_JOBS`: 16 MiB); time
O(n * m * settled jobs) worst case.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from engine.matching.bell_flow import _label, _pop

INF = np.inf
MAX_DENSE_JOBS = 1024


@njit(cache=True)
def _pair_score(i, k, indptr, cols, score):
    for e in range(indptr[i], indptr[i + 1]):
        if cols[e] == k:
            return score[e]
    return 0.0


@njit(cache=True)
def _build_row(j, indptr, cols, score, start, load, members, held, T, A, W, WA):
    """Table row of job j from its members (T -inf, A -1 where none reaches k)."""
    for k in range(T.shape[1]):
        T[j, k] = -INF
        A[j, k] = -1
    W[j] = INF
    WA[j] = -1
    for t in range(start[j], start[j] + load[j]):
        i = members[t]
        h = held[i]
        if h < W[j] or (h == W[j] and i < WA[j]):
            W[j] = h
            WA[j] = i
        for e in range(indptr[i], indptr[i + 1]):
            k = cols[e]
            if k == j:
                continue
            v = score[e] - h
            if v > T[j, k] or (v == T[j, k] and i < A[j, k]):
                T[j, k] = v
                A[j, k] = i


@njit(cache=True)
def dense_flow_assign(indptr, cols, score, cap):
    """Maximum-weight assignment -> job_of[n] (-1: unassigned); see the module header."""
    n = indptr.shape[0] - 1
    m = cap.shape[0]
    job_of = np.full(n, -1, dtype=np.int64)
    held = np.zeros(n, dtype=np.float64)  # score of the worker's current pair
    start = np.zeros(m + 1, dtype=np.int64)
    for j in range(m):
        start[j + 1] = start[j] + cap[j]
    members = np.empty(max(start[m], 1), dtype=np.int64)
    load = np.zeros(m, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)  # a worker's place in its job's members
    pi_j = np.zeros(m, dtype=np.float64)
    T = np.full((m, m), -INF)
    A = np.full((m, m), -1, dtype=np.int64)
    W = np.full(m, INF)
    WA = np.full(m, -1, dtype=np.int64)
    dist = np.full(m, INF)
    cand = np.empty(m, dtype=np.float64)
    pred_w = np.full(m, -1, dtype=np.int64)  # the worker a job was reached from
    heap = np.empty(m, dtype=np.int64)
    pos = np.full(m, -1, dtype=np.int64)
    touched = np.empty(m, dtype=np.int64)
    settled = np.empty(m, dtype=np.int64)
    settled_d = np.empty(m, dtype=np.float64)
    dirty = np.zeros(m, dtype=np.bool_)
    dirty_list = np.empty(m, dtype=np.int64)
    for i0 in range(n):
        if indptr[i0] == indptr[i0 + 1]:
            continue  # no eligible pair: stays unassigned
        p = 0.0  # the new worker's potential: every edge out of it has rc >= 0
        for e in range(indptr[i0], indptr[i0 + 1]):
            v = pi_j[cols[e]] + score[e]
            if v > p:
                p = v
        dist_t = p  # the best way to the sink so far (i0 stays out), and its last node
        pred_t = i0
        nt = 0
        ns = 0
        size = 0
        for e in range(indptr[i0], indptr[i0 + 1]):
            k = cols[e]
            nd = (p - score[e]) - pi_j[k]
            if nd < dist[k]:
                size, nt, dist_t, pred_t = _label(
                    k, nd, i0, n, heap, pos, dist, pred_w, touched, nt, size, load, cap, pi_j,
                    dist_t, pred_t,
                )  # fmt: skip
        while size > 0:
            j = heap[0]
            d = dist[j]
            if d >= dist_t:
                break
            size = _pop(heap, pos, dist, size)
            settled[ns] = j
            settled_d[ns] = d
            ns += 1
            dist[j] = -INF  # settled: no relaxation can improve it
            pj = pi_j[j]
            nd = d + (W[j] + pj)  # the weakest member leaves
            if nd < dist_t or (nd == dist_t and WA[j] < pred_t):
                dist_t = nd
                pred_t = WA[j]
            row = T[j]
            better = False
            for k in range(m):  # vectorised: no branch
                nd = d + ((pj - pi_j[k]) - row[k])
                cand[k] = nd
                better |= nd < dist[k]
            for k in range(m if better else 0):  # most settles improve no label
                nd = cand[k]
                if nd < dist[k]:  # -inf table entries give +inf: never
                    size, nt, dist_t, pred_t = _label(
                        k, nd, A[j, k], n, heap, pos, dist, pred_w, touched, nt, size, load,
                        cap, pi_j, dist_t, pred_t,
                    )  # fmt: skip
        for t in range(ns):  # potentials only decrease
            if settled_d[t] < dist_t:
                pi_j[settled[t]] += settled_d[t] - dist_t
        # augment along the path, from the sink back to the new worker
        nd_rows = 0
        if pred_t < n:
            i = pred_t
            new_job = -1
        else:
            new_job = pred_t - n
            i = pred_w[new_job]
        while True:
            old = job_of[i]
            if old >= 0:  # leave the old job: its last member takes the place
                last = members[start[old] + load[old] - 1]
                members[start[old] + where[i]] = last
                where[last] = where[i]
                load[old] -= 1
                if not dirty[old]:
                    dirty[old] = True
                    dirty_list[nd_rows] = old
                    nd_rows += 1
            if new_job >= 0:
                members[start[new_job] + load[new_job]] = i
                where[i] = load[new_job]
                load[new_job] += 1
                held[i] = _pair_score(i, new_job, indptr, cols, score)
                if not dirty[new_job]:
                    dirty[new_job] = True
                    dirty_list[nd_rows] = new_job
                    nd_rows += 1
            else:
                held[i] = 0.0
            job_of[i] = new_job
            if i == i0:
                break
            new_job = old  # i was reached from its old job, which goes to who reached it
            i = pred_w[old]
        for t in range(nd_rows):
            j = dirty_list[t]
            dirty[j] = False
            _build_row(j, indptr, cols, score, start, load, members, held, T, A, W, WA)
        for t in range(nt):
            j = touched[t]
            dist[j] = INF
            pos[j] = -1
    return job_of


def py_dense_flow_assign(
    indptr: np.ndarray, cols: np.ndarray, score: np.ndarray, cap: np.ndarray
) -> np.ndarray:
    """Plain-Python twin of `dense_flow_assign`: the same steps and float operations."""
    n, m = len(indptr) - 1, len(cap)
    ind = [int(x) for x in indptr]
    cl = [int(x) for x in cols]
    sc = [float(x) for x in score]
    cp = [int(x) for x in cap]
    inf = float("inf")
    job_of = [-1] * n
    held = [0.0] * n
    members: list[list[int]] = [[] for _ in range(m)]
    pi_j = [0.0] * m
    rows: list[dict[int, tuple[float, int]]] = [{} for _ in range(m)]  # k -> (T, A)
    weakest: list[tuple[float, int]] = [(inf, -1)] * m

    def build_row(j: int) -> None:
        row: dict[int, tuple[float, int]] = {}
        w = (inf, -1)
        for i in members[j]:
            h = held[i]
            if h < w[0] or (h == w[0] and i < w[1]):
                w = (h, i)
            for e in range(ind[i], ind[i + 1]):
                k = cl[e]
                if k == j:
                    continue
                v = sc[e] - h
                t, a = row.get(k, (-inf, -1))
                if v > t or (v == t and i < a):
                    row[k] = (v, i)
        rows[j], weakest[j] = row, w

    for i0 in range(n):
        if ind[i0] == ind[i0 + 1]:
            continue
        p = 0.0
        for e in range(ind[i0], ind[i0 + 1]):
            v = pi_j[cl[e]] + sc[e]
            if v > p:
                p = v
        best = [p, i0]
        dist: dict[int, float] = {}
        pred_w: dict[int, int] = {}
        done: dict[int, float] = {}
        heap: list[tuple[float, int]] = []

        def reach(k: int, nd: float, via: int) -> None:
            if k in done or nd >= dist.get(k, inf):  # noqa: B023 (called in this pass)
                return
            dist[k], pred_w[k] = nd, via  # noqa: B023
            heapq.heappush(heap, (nd, k))  # noqa: B023
            if len(members[k]) < cp[k]:
                ndt = nd + pi_j[k]
                if ndt < best[0] or (ndt == best[0] and n + k < best[1]):  # noqa: B023
                    best[0], best[1] = ndt, n + k  # noqa: B023

        for e in range(ind[i0], ind[i0 + 1]):
            reach(cl[e], (p - sc[e]) - pi_j[cl[e]], i0)
        while True:
            while heap and (heap[0][1] in done or heap[0][0] > dist[heap[0][1]]):
                heapq.heappop(heap)  # stale entries (the kernel's heap has decrease-key)
            if not heap or heap[0][0] >= best[0]:
                break
            d, j = heapq.heappop(heap)
            done[j] = d
            pj = pi_j[j]
            nd = d + (weakest[j][0] + pj)
            if nd < best[0] or (nd == best[0] and weakest[j][1] < best[1]):
                best[0], best[1] = nd, weakest[j][1]
            for k in sorted(rows[j]):
                t, a = rows[j][k]
                reach(k, d + ((pj - pi_j[k]) - t), a)
        dist_t, pred_t = best[0], int(best[1])
        for j, d in done.items():
            if d < dist_t:
                pi_j[j] += d - dist_t
        changed: set[int] = set()
        if pred_t < n:
            i, new_job = pred_t, -1
        else:
            new_job = pred_t - n
            i = pred_w[new_job]
        while True:
            old = job_of[i]
            if old >= 0:
                members[old][members[old].index(i)] = members[old][-1]
                members[old].pop()
                changed.add(old)
            if new_job >= 0:
                members[new_job].append(i)
                held[i] = next(sc[e] for e in range(ind[i], ind[i + 1]) if cl[e] == new_job)
                changed.add(new_job)
            else:
                held[i] = 0.0
            job_of[i] = new_job
            if i == i0:
                break
            new_job = old
            i = pred_w[old]
        for j in changed:
            build_row(j)
    return np.asarray(job_of, dtype=np.int64)
