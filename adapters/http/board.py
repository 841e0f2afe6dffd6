"""The live station board: page, JSON and server-sent events; no login, no personal data.

Owns the routes
    GET /board/{station_id}          the hall-screen page (HTML, large Chinese type)
    GET /board/{station_id}/jobs     the same content as JSON (`BoardView`)
    GET /board/{station_id}/events   server-sent events: `event: board` with the JSON,
                                     sent on connect and whenever the station's jobs,
                                     or the offers of its counter workers, change
and `BoardHub`, which wakes the streams of a station when the `ScopeIndex` listener
(writer thread) reports a change (`notify`, via `loop.call_soon_threadsafe`): a change of
its own jobs or status, or of any job whose site lies within its radius (a board lists
every open job near the station, whoever collected it).

Invariants:
- A stream sends a fresh snapshot read on the writer thread after every change, so what
  the screen shows is always a state that includes every acknowledged command; bursts
  of changes coalesce into one snapshot (`COALESCE_S`).
- Snapshots are cached per station until the next change (at most `CACHE_S`), so many
  screens and reloads cost one query.
- Public routes are rate limited per client address.

Limits: `Limits.board_clients_per_station` and `Limits.board_clients` open streams (503
beyond); a notification tests at most `NOTIFY_MAX_TESTS` (job site, board) pairs on the
event loop (beyond, every board in use is refreshed, once per station thanks to the cache); a keep-alive comment every `Limits.board_keepalive_s`; each stream ends after
`STREAM_MAX_S` (the browser reconnects by itself and gets a cached snapshot): uvicorn
waits for open streams on shutdown, so this bounds how long a hall screen can hold up
`lingong serve`'s exit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage

from adapters.http.board_page import BoardView, board_view, render_page
from adapters.http.context import Api
from adapters.http.counter import contact_offers
from adapters.http.problems import PUBLIC_PROBLEMS, ApiError
from engine.geo import haversine_m

COALESCE_S = 0.05
CACHE_S = 5.0
STREAM_MAX_S = 30.0
RETRY_MS = 1000
NEAR_SLACK_M = 50.0  # a changed job this close to a board's circle refreshes it
NOTIFY_MAX_TESTS = 20_000  # distance tests per notification; beyond, refresh every board
M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator), metres


class BoardHub:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[str, set[asyncio.Event]] = {}
        self._version: dict[str, int] = {}
        self._cache: dict[str, tuple[int, float, BoardView]] = {}
        # station -> (lat, lng, radius + slack) of boards read; one entry per station
        self._where: dict[str, tuple[float, float, float]] = {}
        self.clients = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.api.index.on_change = self._from_writer

    def _from_writer(self, stations: set[str], points: list[tuple[float, float]]) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.notify, frozenset(stations), tuple(points))

    def notify(
        self, stations: frozenset[str], points: tuple[tuple[float, float], ...] = ()
    ) -> None:
        """Stations whose board changed: those named, and every station with a board in
        use (cached or streamed) whose radius holds one of `points` (or "*": all)."""
        in_use = set(self._subs) | set(self._cache)
        # many points at once (a bulk import, a cascade): refresh every board in use
        every = "*" in stations or len(points) * len(in_use) > NOTIFY_MAX_TESTS
        touched = set(stations)
        for sid in in_use:
            if every or sid in touched:
                touched.add(sid)
                continue
            where = self._where.get(sid)
            if where is None:
                touched.add(sid)  # never read yet: refresh rather than miss a change
                continue
            s_lat, s_lng, reach_m = where
            dlat_deg = reach_m / M_PER_DEG_LAT
            if any(
                abs(lat - s_lat) <= dlat_deg and haversine_m(s_lat, s_lng, lat, lng) <= reach_m
                for lat, lng in points
            ):
                touched.add(sid)
        touched.discard("*")
        for sid in touched:
            self._version[sid] = self._version.get(sid, 0) + 1
            self._cache.pop(sid, None)
            for ev in self._subs.get(sid, ()):
                ev.set()

    def subscribe(self, station_id: FromPath[str]) -> asyncio.Event:
        limits = self.api.limits
        subs = self._subs.setdefault(station_id, set())
        if self.clients >= limits.board_clients or len(subs) >= limits.board_clients_per_station:
            raise ApiError(503, "board_clients", "too many open boards; retry later", "")
        ev = asyncio.Event()
        subs.add(ev)
        self.clients += 1
        self.api.metrics.board_clients.set(self.clients)
        return ev

    def unsubscribe(self, station_id: FromPath[str], ev: asyncio.Event) -> None:
        subs = self._subs.get(station_id)
        if subs is not None and ev in subs:
            subs.discard(ev)
            self.clients -= 1
            self.api.metrics.board_clients.set(self.clients)
            if not subs:
                del self._subs[station_id]

    async def snapshot(self, station_id: FromPath[str]) -> BoardView | None:
        version = self._version.get(station_id, 0)
        hit = self._cache.get(station_id)
        now = time.monotonic()
        if hit is not None and hit[0] == version and now - hit[1] < CACHE_S:
            return hit[2]
        api = self.api
        now_ms = api.now_ms()

        def query(state: Any) -> BoardView | None:
            view = board_view(state, station_id, now_ms)
            if view is not None:  # offers to the station's counter workers (no mobile)
                contacts = list(api.index.station_contacts.get(station_id, {}))
                view.offers = contact_offers(state, contacts)
            return view

        view = await api.read(query)
        if view is not None:
            self._where[station_id] = (view.lat, view.lng, view.radius_m + NEAR_SLACK_M)
        if view is not None and self._version.get(station_id, 0) == version:
            self._cache[station_id] = (version, now, view)
        return view


def _hub(request: Request[Any, Any, Any]) -> BoardHub:
    hub: BoardHub = request.app.state["board"]
    api: Api = request.app.state["api"]
    client = request.client.host if request.client is not None else "-"
    if api.public_buckets.take("ip:" + client) > 0:
        api.metrics.rate_limited.inc()
        raise ApiError(429, "rate_limit", "too many requests", "", {"Retry-After": "1"})
    return hub


async def _view(request: Request[Any, Any, Any], station_id: FromPath[str]) -> BoardView:
    view = await _hub(request).snapshot(station_id)
    if view is None:
        raise ApiError(404, "exists", "no such station", "station_id")
    return view


PUBLIC = {"tags": ["board"], "responses": PUBLIC_PROBLEMS}


@get("/board/{station_id:str}", media_type="text/html", summary="The station board page", **PUBLIC)
async def board_page(request: Request[Any, Any, Any], station_id: FromPath[str]) -> Response[str]:
    view = await _view(request, station_id)
    return Response(
        render_page(view),
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


@get("/board/{station_id:str}/jobs", summary="The station board as JSON", **PUBLIC)
async def board_jobs(request: Request[Any, Any, Any], station_id: FromPath[str]) -> BoardView:
    return await _view(request, station_id)


@get("/board/{station_id:str}/events", include_in_schema=False)
async def board_events(
    request: Request[Any, Any, Any], station_id: FromPath[str]
) -> ServerSentEvent:
    hub = _hub(request)
    first = await hub.snapshot(station_id)
    if first is None:
        raise ApiError(404, "exists", "no such station", "station_id")
    wake = hub.subscribe(station_id)
    keepalive_s = hub.api.limits.board_keepalive_s

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        try:
            view: BoardView | None = first
            ends = time.monotonic() + STREAM_MAX_S
            while view is not None:
                yield ServerSentEventMessage(
                    event="board", data=msgspec.json.encode(view).decode(), retry=RETRY_MS
                )
                while True:
                    left = ends - time.monotonic()
                    if left <= 0:
                        return
                    try:
                        await asyncio.wait_for(wake.wait(), min(keepalive_s, left))
                        break
                    except TimeoutError:
                        yield ServerSentEventMessage(comment="keep-alive", data=None)
                wake.clear()
                await asyncio.sleep(COALESCE_S)
                wake.clear()
                view = await hub.snapshot(station_id)
        finally:
            hub.unsubscribe(station_id, wake)

    return ServerSentEvent(
        stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


ROUTES = [board_page, board_jobs, board_events]
