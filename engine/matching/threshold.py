"""Exact threshold top-k of workers for a job over the waiting index.

Owns: `rank_waiting` (numba), the job-side ranking the offer waves use, and
`group_bound` / `box_distance_lb_m`, its bounds.

Result: exactly `kernels.rank_workers` over every checked-in worker of the job's skill
within the job's query radius (the full scan, kept as the twin the tests compare
against): the same rows, scores, distances, travel times and features, bit for bit.

How: the cell groups (H3 res-7 cell, skill) of the disk that covers the query radius are
bounded first — travel from the distance to the group's bounding box at the fastest
travel mode present, every other feature from the group's summaries, each term >= the
real term, added in the order of the score (float rounding is monotone, so a bound is
>= every member's score). A max-heap visits them best bound first; a cell group taken
from it puts its class groups in (bounded the same way from their own summaries), and a
class group taken from it has its members scanned. The visit stops at the first entry
whose bound cannot beat the k-th score held. Inside a class group each member's score is
bounded from its packed payload (the kernel's arithmetic on a copy of the columns), and
only a member that could enter the top k is checked and scored on the worker columns
themselves (the score that counts). So a posting reads the columns of a few workers
instead of every waiting worker of the city. A member's distance is bounded from below
first (`box_distance_lb_m` of its point with the class group's cos bound), so a member
that bound already puts out of reach or out of the top k costs no haversine (the bound
is <= the distance and its travel term >= the real one when the travel weight is >= 0:
the same members are kept).

Limits: buffers O(cell groups in the disk x classes + k), at most the class group rows
(the heap of groups has that fixed capacity); the disk is at most `index.MAX_RADIUS_M`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.geo import DEG_TO_RAD, EARTH_RADIUS_M
from engine.matching import params as P
from engine.matching.kernels import (
    FIRST_KNOWN,
    _capped,
    _reach_by_mode,
    can_take,
    exposure_feature,
    haversine_cos_m,
    known_bound,
    reliability_feature,
    travel_and_score,
    upper_terms,
    waiting_feature,
)
from engine.matching.topk import beats_root, heap_drain, heap_offer
from engine.matching.waiting import (
    G_COUNT,
    G_HEAD,
    G_MAX_DAY,
    G_MAX_PRIO,
    G_MAX_UNTIL,
    G_MIN_BIRTH,
    G_MIN_CHECKIN,
    G_MIN_DAY,
    G_MIN_MIN_PAY,
    G_MIN_OFFERS,
    G_MIN_OPEN,
    G_MODES,
    GF_COS_MIN,
    GF_MAX_REL,
    GF_MAXLAT,
    GF_MAXLNG,
    GF_MINLAT,
    GF_MINLNG,
    S_BIRTH,
    S_BUSY_N,
    S_MODE,
    S_OFFERS,
    S_OFFERS_DAY,
    S_OPEN,
    S_PRIO,
    S_ROW,
    SF_BUSY_END,
    SF_BUSY_START,
    SF_CHECKIN,
    SF_LAT,
    SF_LNG,
    SF_MIN_PAY,
    SF_REL,
    SF_UNTIL,
)

F = P.N_FEATURES


@njit(cache=True)
def box_distance_lb_m(lat0, lng0, cos0, minlat, maxlat, minlng, maxlng, cos_min):
    """A lower bound of the haversine distance (as `haversine_cos_m` computes it) from
    (lat0, lng0) to any point of the box (`cos_min` <= cos of every latitude in it; 0 when
    the box spans the antimeridian).

    haversine: a = sin^2(dlat/2) + cos0 cos(lat) sin^2(dlng/2), d = 2R asin(sqrt(a)). For
    |x| <= 0.05 rad, sin x >= x (1 - x^2/6) >= x (1 - 4.2e-4), and asin y >= y, so
    d >= R (1 - 4.2e-4) sqrt(dlat^2 + cos0 cos_min dlng^2) with each difference capped at
    0.1 rad (640 km: beyond any reach). No trigonometry: a few multiplications.
    """
    dlat = 0.0
    if lat0 < minlat:
        dlat = minlat - lat0
    elif lat0 > maxlat:
        dlat = lat0 - maxlat
    dlng = 0.0
    if lng0 < minlng:
        dlng = minlng - lng0
    elif lng0 > maxlng:
        dlng = lng0 - maxlng
    if dlng > 180.0 or maxlng - minlng > 180.0:
        dlng = 0.0
    x = dlat * DEG_TO_RAD
    y = dlng * DEG_TO_RAD
    if x > 0.1:
        x = 0.1
    if y > 0.1:
        y = 0.1
    c = cos0 * cos_min
    if c < 0.0:
        c = 0.0
    d = EARTH_RADIUS_M * (1.0 - 4.2e-4) * math.sqrt(x * x + c * (y * y))
    d = d * (1.0 - 1e-9) - 1e-3  # covers the rounding of both computations
    return d if d > 0.0 else 0.0


@njit(cache=True)
def group_bound(g_i, g_f, g, lat0, lng0, cos0, job, pol, weights, hi, accept_hi, reach):
    """Upper bound of the score of every member of group g (a cell group or a class
    group: the same summaries) (-inf: none can reach or take the job)."""
    if g_i[g, G_MAX_UNTIL] < int(job[P.J_START_MS]) or g_i[g, G_MIN_OPEN] >= int(
        pol[P.P_MAX_OPEN_OFFERS]
    ):
        return -np.inf
    if int(job[P.J_DAY_PAY_FEN]) < g_i[g, G_MIN_MIN_PAY]:
        return -np.inf
    d = box_distance_lb_m(
        lat0,
        lng0,
        cos0,
        g_f[g, GF_MINLAT],
        g_f[g, GF_MAXLAT],
        g_f[g, GF_MINLNG],
        g_f[g, GF_MAXLNG],
        g_f[g, GF_COS_MIN],
    )
    # the fastest mode present: the largest reach and the best travel term of the group
    modes = g_i[g, G_MODES]
    fast = -1
    for m in range(P.N_MODES):
        if (modes >> m) & 1 and (fast < 0 or pol[P.P_SPEEDS + m] > pol[P.P_SPEEDS + fast]):
            fast = m
    if fast < 0 or d > reach[fast]:
        return -np.inf
    travel_s = d * P.DETOUR / pol[P.P_SPEEDS + fast]
    best_travel = 1.0 - _capped(travel_s / pol[P.P_TRAVEL_LIMIT_S])
    bound = 0.0
    bound += weights[0] * best_travel if weights[0] >= 0.0 else hi[0]
    if weights[1] >= 0.0:
        bound += weights[1] * waiting_feature(int(job[P.J_NOW_MS]) - g_i[g, G_MIN_CHECKIN], pol)
    else:
        bound += hi[1]
    if weights[2] >= 0.0:
        older = int(job[P.J_YEAR]) - g_i[g, G_MIN_BIRTH] >= int(pol[P.P_OLDER_AGE])
        bound += weights[2] * (1.0 if older else 0.0)
    else:
        bound += hi[2]
    if weights[3] >= 0.0:
        bound += weights[3] * (1.0 if g_i[g, G_MAX_PRIO] > 0 else 0.0)
    else:
        bound += hi[3]
    bound += weights[4] * g_f[g, GF_MAX_REL] if weights[4] >= 0.0 else hi[4]
    today = int(pol[P.P_TODAY])
    if weights[5] >= 0.0 and g_i[g, G_MIN_DAY] == today and g_i[g, G_MAX_DAY] == today:
        bound += weights[5] * -_capped(float(g_i[g, G_MIN_OFFERS]) / pol[P.P_EXPOSURE_CAP])
    else:
        bound += hi[5]
    bound += accept_hi
    return bound


@njit(cache=True)
def _member_bound(distance_m, pol, m, weights, f, accept_hi):
    """A member's score bound with its travel term from `distance_m` (sets f's travel)."""
    travel_s = distance_m * P.DETOUR / pol[P.P_SPEEDS + m]
    f[P.F_TRAVEL] = 1.0 - _capped(travel_s / pol[P.P_TRAVEL_LIMIT_S])
    bound = 0.0
    for j in range(6):
        bound += weights[j] * f[j]
    return bound + accept_hi


@njit(cache=True)
def _heap_push(keys, ids, n, key, gid):
    """Max-heap of (key, id) in arrays of fixed capacity (> n) -> n + 1. Fixed: an array
    reassigned inside the ranking's loops costs numba reference counting on every pass."""
    if n >= keys.shape[0]:
        raise IndexError("group heap full")
    i = n
    keys[i] = key
    ids[i] = gid
    while i > 0:
        p = (i - 1) >> 1
        if keys[p] >= keys[i]:
            break
        keys[p], keys[i] = keys[i], keys[p]
        ids[p], ids[i] = ids[i], ids[p]
        i = p
    return n + 1


@njit(cache=True)
def _heap_pop(keys, ids, n):
    """Remove the top of the max-heap -> n - 1 (read keys[0], ids[0] first)."""
    n -= 1
    keys[0] = keys[n]
    ids[0] = ids[n]
    i = 0
    while True:
        big = i
        left = 2 * i + 1
        right = left + 1
        if left < n and keys[left] > keys[big]:
            big = left
        if right < n and keys[right] > keys[big]:
            big = right
        if big == i:
            return n
        keys[big], keys[i] = keys[i], keys[big]
        ids[big], ids[i] = ids[i], ids[big]
        i = big


@njit(cache=True)
def rank_waiting(
    cells,
    skill_bit,
    job,
    pol,
    weights,
    accept_coef,
    excluded_rows,
    k,
    dir_start,
    dir_cell,
    dir_gid,
    c_i,
    c_f,
    c_sub,
    g_i,
    g_f,
    b_i,
    s_i,
    s_f,
    lat,
    lng,
    skills,
    min_pay_fen,
    birth_year,
    priority,
    mode,
    active,
    checked_in,
    checkin_ms,
    available_until_ms,
    busy_start,
    busy_end,
    open_offers,
    completions,
    no_shows,
    offers_today,
    offers_day,
):
    """Best k workers for a job -> (rows, scores, distance_m, travel_s, features[m, 7]),
    as `kernels.rank_workers` over the waiting index's members of `skill_bit` in `cells`.
    Also returns what it touched (a measure): int64[4] = cell groups bounded, class
    groups bounded, members bounded from their payload, members whose columns were read."""
    n_coef = accept_coef.shape[0]
    if n_coef != 0 and n_coef != F + 1:
        raise ValueError("accept_coef needs 0 or 8 values")
    block = s_i.shape[0] // b_i.shape[0]
    cap = max(k, 0)
    keys = np.empty(cap, dtype=np.float64)
    rows = np.empty(cap, dtype=np.int64)
    slots = np.empty(cap, dtype=np.int64)
    p_dist = np.empty(cap, dtype=np.float64)
    p_travel = np.empty(cap, dtype=np.float64)
    p_feat = np.empty((cap, F), dtype=np.float64)
    size = 0
    reach = _reach_by_mode(pol)
    bit = np.uint64(1) << np.uint64(skill_bit)
    day_pay = int(job[P.J_DAY_PAY_FEN])
    start_ms = int(job[P.J_START_MS])
    end_ms = int(job[P.J_END_MS])
    now_ms = int(job[P.J_NOW_MS])
    job_year = int(job[P.J_YEAR])
    older_age = int(pol[P.P_OLDER_AGE])
    max_open = int(pol[P.P_MAX_OPEN_OFFERS])
    today = int(pol[P.P_TODAY])
    hi, accept_hi = upper_terms(weights, n_coef)
    lat0 = job[P.J_LAT]
    lng0 = job[P.J_LNG]
    cos0 = math.cos(lat0 * DEG_TO_RAD)
    # best first over two levels: cell groups (id >= 0) and their class groups (id < 0:
    # -1 - class group id); a cell group popped pushes its class groups
    touched = np.zeros(4, dtype=np.int64)
    j = dir_start[skill_bit]
    end = dir_start[skill_bit + 1]
    if cap > 0 and cells.shape[0] > 0:
        # both ascending: a merge (jump to the disk's first cell first)
        lo, hi_ = j, end
        while lo < hi_:
            mid = (lo + hi_) >> 1
            if dir_cell[mid] < cells[0]:
                lo = mid + 1
            else:
                hi_ = mid
        j = lo
    # each group enters the heap at most once: a cell group per disk cell listed from j
    # on, a class group (at most the classes of each, and the class group rows) when its
    # cell group leaves it
    ncg = min(cells.shape[0], end - j)
    hcap = ncg + min(ncg * c_sub.shape[1], g_i.shape[0])
    hkeys = np.empty(hcap, dtype=np.float64)
    hids = np.empty(hcap, dtype=np.int64)
    nh = 0
    for i in range(cells.shape[0] if cap > 0 else 0):
        c = cells[i]
        while j < end and dir_cell[j] < c:
            j += 1
        if j == end:
            break
        if dir_cell[j] == c:
            cg = dir_gid[j]
            if c_i[cg, G_COUNT] == 0:
                continue
            b = group_bound(c_i, c_f, cg, lat0, lng0, cos0, job, pol, weights, hi, accept_hi, reach)
            touched[0] += 1
            if b != -np.inf:
                nh = _heap_push(hkeys, hids, nh, b, cg)
    f = np.empty(F, dtype=np.float64)
    while nh > 0:
        top = hkeys[0]
        gid = hids[0]
        if size == cap and not beats_root(keys, rows, size, cap, top, -1):
            break
        nh = _heap_pop(hkeys, hids, nh)
        if gid >= 0:
            for cls in range(c_sub.shape[1]):
                g = c_sub[gid, cls]
                if g < 0:
                    continue
                b = group_bound(
                    g_i, g_f, g, lat0, lng0, cos0, job, pol, weights, hi, accept_hi, reach
                )
                touched[1] += 1
                if b != -np.inf:
                    nh = _heap_push(hkeys, hids, nh, b, -1 - g)
            continue
        g = -1 - gid
        blk = g_i[g, G_HEAD]
        while blk >= 0:
            for si in range(b_i[blk, 1]):
                s = blk * block + si
                r = np.int64(s_i[s, S_ROW])
                touched[2] += 1
                # the member's bound from its packed copy (the kernel's arithmetic)
                f[P.F_WAITING] = waiting_feature(now_ms - np.int64(s_f[s, SF_CHECKIN]), pol)
                f[P.F_OLDER] = 1.0 if job_year - s_i[s, S_BIRTH] >= older_age else 0.0
                f[P.F_HARDSHIP] = 1.0 if s_i[s, S_PRIO] > 0 else 0.0
                if size == cap and not beats_root(
                    keys, rows, size, cap, known_bound(f, weights, hi, accept_hi, FIRST_KNOWN), r
                ):
                    continue
                f[P.F_RELIABILITY] = s_f[s, SF_REL]
                offers = s_i[s, S_OFFERS] if s_i[s, S_OFFERS_DAY] == today else 0
                f[P.F_EXPOSURE] = exposure_feature(offers, pol)
                m = s_i[s, S_MODE]
                # a lower bound of the distance first (no trigonometry; the group's cos
                # bound): a member it already puts out of reach, or whose score bound
                # with it cannot enter, is skipped before the haversine
                la = s_f[s, SF_LAT]
                ln = s_f[s, SF_LNG]
                lb = box_distance_lb_m(lat0, lng0, cos0, la, la, ln, ln, g_f[g, GF_COS_MIN])
                if lb > reach[m]:
                    continue
                if size == cap and weights[0] >= 0.0:
                    bound = _member_bound(lb, pol, m, weights, f, accept_hi)
                    if not beats_root(keys, rows, size, cap, bound, r):
                        continue
                d = haversine_cos_m(lat0, lng0, cos0, la, ln)
                if d > reach[m]:
                    continue
                if size == cap:
                    bound = _member_bound(d, pol, m, weights, f, accept_hi)
                    if not beats_root(keys, rows, size, cap, bound, r):
                        continue
                # the member could enter: can it take the job now (its payload, the
                # same tests as on the columns below)?
                if s_f[s, SF_UNTIL] < start_ms or day_pay < s_f[s, SF_MIN_PAY]:
                    continue
                if s_i[s, S_OPEN] >= max_open:
                    continue
                if s_i[s, S_BUSY_N] == 1 and (
                    s_f[s, SF_BUSY_START] < end_ms and start_ms < s_f[s, SF_BUSY_END]
                ):
                    continue
                # its own columns decide
                touched[3] += 1
                if not can_take(r, bit, day_pay, start_ms, end_ms, max_open, excluded_rows,
                                skills, active, checked_in, available_until_ms, min_pay_fen,
                                open_offers, busy_start, busy_end):  # fmt: skip
                    continue
                f[P.F_WAITING] = waiting_feature(now_ms - checkin_ms[r], pol)
                f[P.F_OLDER] = 1.0 if job_year - birth_year[r] >= older_age else 0.0
                f[P.F_HARDSHIP] = 1.0 if priority[r] > 0 else 0.0
                f[P.F_RELIABILITY] = reliability_feature(int(completions[r]), int(no_shows[r]))
                offers = int(offers_today[r]) if offers_day[r] == today else 0
                f[P.F_EXPOSURE] = exposure_feature(offers, pol)
                d = haversine_cos_m(lat0, lng0, cos0, lat[r], lng[r])
                if d > reach[mode[r]]:
                    continue
                travel_s, score = travel_and_score(
                    f, d, mode[r], min_pay_fen[r], day_pay, pol, weights, accept_coef
                )
                size, slot = heap_offer(keys, rows, slots, size, cap, score, r)
                if slot >= 0:
                    p_dist[slot] = d
                    p_travel[slot] = travel_s
                    p_feat[slot, :] = f
            blk = b_i[blk, 0]
    out_rows, out_scores, out_slots = heap_drain(keys, rows, slots, size)
    return (
        out_rows,
        out_scores,
        p_dist[out_slots],
        p_travel[out_slots],
        p_feat[out_slots],
        touched,
    )
