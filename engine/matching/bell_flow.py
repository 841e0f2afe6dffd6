"""Maximum-weight assignment of workers to jobs with slots, exactly, without slot expansion.

Owns: `flow_assign` (numba) and its plain-Python twin `py_flow_assign`, used by
`engine.matching.bell.bell_assign` (objective "weight") for bells of more than
`bell_dense.MAX_DENSE_JOBS` jobs (`bell_dense` folds the same method into a job x job
table), and the indexed-heap helpers `_sift_up` / `_pop` / `_label` that both use.

Method: min-cost flow by successive shortest paths (the Hungarian method, one worker at
a time) on the network source -> worker (1) -> job (cost -score, 1) -> sink (slots), with
an edge worker -> sink of cost 0 (the worker stays out). A job is one node with its
slots, not `slots` copied columns: Dijkstra runs over jobs; a job's members are reached
at its label (an assigned pair's reduced cost is 0) and relax their own pairs. Node
potentials keep reduced costs >= 0 (the sink's stays 0); after each search the settled
nodes' potentials move by (distance - sink distance), so they only decrease. Adding the
workers one by one keeps the assignment of those added optimal, so the last one is a
maximum-weight assignment. Loads never drop (a path ends in a free slot or a worker
leaving), so a job with a free slot keeps potential 0 and every potential is <= 0.

Exact pruning (kernel only): a worker's pairs are relaxed best score first and the scan
stops once `label + (potential - score)` exceeds the best way to the sink found: with
job potentials <= 0 no later pair can get below it. The twin relaxes every pair in the
given order; the results are equal because a pair is never relaxed twice from one worker
and ties are broken by node, not by order: the heap pops the least (distance, job), the
way to the sink keeps the least (distance, node) (workers 0..n-1, then jobs n + j), and a
search stops when no label is below the sink's.

Input: the eligible pairs with a positive score as CSR over workers (`indptr[n + 1]`,
`cols[p]` job, `score[p]` finite and > 0; a worker's jobs distinct) and `cap[m]` slots per
job (>= 0). Output: `job_of[n]`, the job of each worker or -1.

Invariants: deterministic (workers added in index order; the same float operations in
the same order in the twin, so both return the same array; tests compare on seeded
random inputs with ties); never fastmath; no clock, randomness or I/O.

Limits: O(n * (p + n) log m) worst case; in a market the searches stop early (a free
slot or the worker's own exit is near). Memory O(p + n + m).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True, inline="always")
def _less(key, a, b):
    return key[a] < key[b] or (key[a] == key[b] and a < b)


@njit(cache=True, inline="always")
def _sift_up(heap, pos, key, i):
    v = heap[i]
    while i > 0:
        p = (i - 1) >> 1
        if not _less(key, v, heap[p]):
            break
        heap[i] = heap[p]
        pos[heap[i]] = i
        i = p
    heap[i] = v
    pos[v] = i


@njit(cache=True, inline="always")
def _pop(heap, pos, key, size):
    """Remove the root (the caller has read it); returns the new size."""
    pos[heap[0]] = -1
    size -= 1
    if size == 0:
        return 0
    v = heap[size]
    i = 0
    while True:
        a = 2 * i + 1
        if a >= size:
            break
        b = a + 1
        c = b if b < size and _less(key, heap[b], heap[a]) else a
        if not _less(key, heap[c], v):
            break
        heap[i] = heap[c]
        pos[heap[i]] = i
        i = c
    heap[i] = v
    pos[v] = i
    return size


@njit(cache=True, inline="always")
def _label(k, nd, w, n, heap, pos, dist, pred_w, touched, nt, size, load, cap, pi_j, bd, bn):
    """Job k is reached at distance nd < dist[k] through worker w: (re)label it in the
    heap, remember it as touched, and keep the best sink path (distance, then node)
    -> (size, nt, bd, bn)."""
    if pos[k] < 0:
        if dist[k] == INF:
            touched[nt] = k
            nt += 1
        heap[size] = k
        pos[k] = size
        size += 1
    dist[k] = nd
    pred_w[k] = w
    _sift_up(heap, pos, dist, pos[k])
    if load[k] < cap[k]:
        ndt = nd + pi_j[k]
        if ndt < bd or (ndt == bd and n + k < bn):
            bd = ndt
            bn = n + k
    return size, nt, bd, bn


@njit(cache=True, inline="always")
def _relax(
    i,
    d,
    indptr,
    cols,
    score,
    cap,
    load,
    pi_w,
    pi_j,
    dist,
    pred_w,
    heap,
    pos,
    size,
    touched,
    nt,
    bd,
    bn,
):
    """Relax the edges out of worker i (label d); (bd, bn): the best way to the sink
    found (distance, node) -> (size, nt, bd, bn)."""
    n = indptr.shape[0] - 1
    nd = d + pi_w[i]  # i -> sink: i leaves (or stays out of) its job
    if nd < bd or (nd == bd and i < bn):
        bd = nd
        bn = i
    a = pi_w[i]
    for e in range(indptr[i], indptr[i + 1]):
        x = a - score[e]
        if d + x > bd:
            break  # pi_j <= 0, scores descending: no later pair gets below the sink
        k = cols[e]
        nd = d + (x - pi_j[k])
        if nd < dist[k]:  # a settled job (i's own among them) has dist -inf
            size, nt, bd, bn = _label(
                k, nd, i, n, heap, pos, dist, pred_w, touched, nt, size, load, cap, pi_j, bd, bn
            )
    return size, nt, bd, bn


@njit(cache=True)
def _by_score(indptr, cols, score):
    """Copies of the pairs with each worker's sorted by score descending (stable)."""
    out_cols = np.empty_like(cols)
    out_score = np.empty_like(score)
    for i in range(indptr.shape[0] - 1):
        a, b = indptr[i], indptr[i + 1]
        order = np.argsort(-score[a:b], kind="mergesort")
        for t in range(b - a):
            out_cols[a + t] = cols[a + order[t]]
            out_score[a + t] = score[a + order[t]]
    return out_cols, out_score


@njit(cache=True)
def flow_assign(indptr, cols, score, cap):
    """Maximum-weight assignment -> job_of[n] (-1: unassigned); see the module header."""
    n = indptr.shape[0] - 1
    m = cap.shape[0]
    job_of = np.full(n, -1, dtype=np.int64)
    start = np.zeros(m + 1, dtype=np.int64)
    for j in range(m):
        start[j + 1] = start[j] + cap[j]
    members = np.empty(max(start[m], 1), dtype=np.int64)
    load = np.zeros(m, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)  # a worker's place in its job's members
    pi_w = np.zeros(n, dtype=np.float64)
    pi_j = np.zeros(m, dtype=np.float64)
    dist = np.full(m, INF)
    settled_j = np.empty(m, dtype=np.int64)
    settled_jd = np.empty(m, dtype=np.float64)
    pred_w = np.full(m, -1, dtype=np.int64)  # the worker a job was reached from
    cols, score = _by_score(indptr, cols, score)
    heap = np.empty(m, dtype=np.int64)
    pos = np.full(m, -1, dtype=np.int64)
    touched = np.empty(m, dtype=np.int64)
    settled_w = np.empty(n, dtype=np.int64)
    settled_d = np.empty(n, dtype=np.float64)
    for i0 in range(n):
        if indptr[i0] == indptr[i0 + 1]:
            continue  # no eligible pair: stays unassigned
        p = 0.0  # the sink's potential
        for e in range(indptr[i0], indptr[i0 + 1]):
            v = pi_j[cols[e]] + score[e]
            if v > p:
                p = v
        pi_w[i0] = p  # every edge out of the new worker has a reduced cost >= 0
        dist_t = INF  # the best way to the sink so far, and its last node
        pred_t = -1
        settled_w[0] = i0
        settled_d[0] = 0.0
        nsw = 1
        nsj = 0
        size, nt, dist_t, pred_t = _relax(
            i0,
            0.0,
            indptr,
            cols,
            score,
            cap,
            load,
            pi_w,
            pi_j,
            dist,
            pred_w,
            heap,
            pos,
            0,
            touched,
            0,
            dist_t,
            pred_t,
        )
        while size > 0:
            j = heap[0]
            d = dist[j]
            if d >= dist_t:
                break
            size = _pop(heap, pos, dist, size)
            settled_j[nsj] = j
            settled_jd[nsj] = d
            nsj += 1
            dist[j] = -INF  # settled: no relaxation can improve it
            # a job's members are reached at its label: an assigned pair is tight
            for k in range(start[j], start[j] + load[j]):
                i = members[k]
                settled_w[nsw] = i
                settled_d[nsw] = d
                nsw += 1
                size, nt, dist_t, pred_t = _relax(
                    i,
                    d,
                    indptr,
                    cols,
                    score,
                    cap,
                    load,
                    pi_w,
                    pi_j,
                    dist,
                    pred_w,
                    heap,
                    pos,
                    size,
                    touched,
                    nt,
                    dist_t,
                    pred_t,
                )
        for k in range(nsw):  # potentials only decrease (pi_j <= 0 for the pruning)
            if settled_d[k] < dist_t:
                pi_w[settled_w[k]] += settled_d[k] - dist_t
        for k in range(nsj):
            if settled_jd[k] < dist_t:
                pi_j[settled_j[k]] += settled_jd[k] - dist_t
        # augment along the path, from the sink back to the new worker
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
            if new_job >= 0:
                members[start[new_job] + load[new_job]] = i
                where[i] = load[new_job]
                load[new_job] += 1
            job_of[i] = new_job
            if i == i0:
                break
            new_job = old  # i was reached from its old job, which goes to who reached it
            i = pred_w[old]
        for k in range(nt):
            j = touched[k]
            dist[j] = INF
            pos[j] = -1
    return job_of


def py_flow_assign(
    indptr: np.ndarray, cols: np.ndarray, score: np.ndarray, cap: np.ndarray
) -> np.ndarray:
    """Plain-Python twin of `flow_assign`: the same steps and float operations."""
    n = len(indptr) - 1
    m = len(cap)
    job_of = [-1] * n
    members: list[list[int]] = [[] for _ in range(m)]
    pi_w = [0.0] * n
    pi_j = [0.0] * m
    ind = [int(x) for x in indptr]
    cl = [int(x) for x in cols]
    sc = [float(x) for x in score]
    cp = [int(x) for x in cap]
    inf = float("inf")

    def relax(
        i: int,
        d: float,
        cur: int,
        dist: dict[int, float],
        done: set[int],
        pred_w: dict[int, int],
        heap: list[tuple[float, int]],
        best: list,
    ) -> None:
        nd = d + pi_w[i]
        if nd < best[0] or (nd == best[0] and i < best[1]):
            best[0], best[1] = nd, i
        for e in range(ind[i], ind[i + 1]):
            k = cl[e]
            if k == cur or k in done:
                continue
            nd = d + ((pi_w[i] - sc[e]) - pi_j[k])
            if nd < dist.get(k, inf):
                dist[k], pred_w[k] = nd, i
                heapq.heappush(heap, (nd, k))
                if len(members[k]) < cp[k]:
                    ndt = nd + pi_j[k]
                    if ndt < best[0] or (ndt == best[0] and n + k < best[1]):
                        best[0], best[1] = ndt, n + k

    for i0 in range(n):
        if ind[i0] == ind[i0 + 1]:
            continue
        p = 0.0
        for e in range(ind[i0], ind[i0 + 1]):
            v = pi_j[cl[e]] + sc[e]
            if v > p:
                p = v
        pi_w[i0] = p
        dist: dict[int, float] = {}
        done: set[int] = set()
        pred_w: dict[int, int] = {}
        heap: list[tuple[float, int]] = []
        best = [inf, -1]
        settled = [(i0, 0.0)]

        relax(i0, 0.0, -1, dist, done, pred_w, heap, best)
        while True:
            while heap and (heap[0][1] in done or heap[0][0] > dist[heap[0][1]]):
                heapq.heappop(heap)  # stale entries (the kernel's heap has decrease-key)
            if not heap or heap[0][0] >= best[0]:
                break
            d, j = heapq.heappop(heap)
            done.add(j)
            for i in list(members[j]):
                settled.append((i, d))
                relax(i, d, j, dist, done, pred_w, heap, best)
        dist_t, pred_t = best[0], int(best[1])
        for i, d in settled:
            if d < dist_t:
                pi_w[i] += d - dist_t
        for j in dist:
            if j in done and dist[j] < dist_t:
                pi_j[j] += dist[j] - dist_t
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
            if new_job >= 0:
                members[new_job].append(i)
            job_of[i] = new_job
            if i == i0:
                break
            new_job = old
            i = pred_w[old]
    return np.asarray(job_of, dtype=np.int64)
