"""An asyncio loop on a background thread, and how lingong connects to NATS.

Owns: `LoopThread` (the bridge between the synchronous engine/runtime and the asyncio
NATS client: synchronous callers hand coroutines to the loop and wait for the result),
`connect()` with lingong's connection options, and `split_urls()`.

Invariants:
- Every NATS object (connection, subscriptions, futures) lives on exactly one loop; code
  on other threads reaches it only through `LoopThread.run` / `LoopThread.submit`.
- `LoopThread.run` refuses to be called from the loop's own thread (it would deadlock).
- Connections reconnect forever with a short wait; a caller that needs a bounded wait
  passes its own timeout to `run`.

Limits: `run` waits at most `timeout_s` (default 30 s). URLs: a comma-separated list of
`nats://host:port` (all servers of a cluster, so a client survives one node dying).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

T = TypeVar("T")
log = logging.getLogger("lingong.nats")

DEFAULT_TIMEOUT_S = 30.0
PENDING_BYTES = 64 * 1024 * 1024  # client-side buffer while (re)connecting


def split_urls(url: str | list[str]) -> list[str]:
    """`"nats://a:1,nats://b:2"` -> `["nats://a:1", "nats://b:2"]`."""
    if isinstance(url, list):
        return url
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise ValueError("empty NATS URL")
    return urls


async def connect(
    url: str | list[str],
    name: str,
    *,
    connect_timeout_s: float = 5.0,
    on_state: Callable[[bool], None] | None = None,
) -> Client:
    """A NATS connection that reconnects forever and logs (never prints) its troubles.

    `on_state(connected)` is called on the connection's loop at every disconnect (False)
    and reconnect (True): subscriptions (micro service endpoints included) are re-made by
    the client on reconnect.
    """

    async def on_error(exc: Exception) -> None:
        log.warning("nats %s: %s", name, str(exc)[:200])

    async def on_disconnect() -> None:
        log.info("nats %s: disconnected", name)
        if on_state is not None:
            on_state(False)

    async def on_reconnect() -> None:
        log.info("nats %s: reconnected", name)
        if on_state is not None:
            on_state(True)

    return await nats.connect(
        servers=split_urls(url),
        name=name,
        connect_timeout=connect_timeout_s,
        reconnect_time_wait=0.25,
        max_reconnect_attempts=-1,
        allow_reconnect=True,
        pending_size=PENDING_BYTES,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


class LoopThread:
    """One asyncio event loop running forever on a daemon thread."""

    def __init__(self, name: str = "lingong-nats") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule `coro` on the loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = DEFAULT_TIMEOUT_S) -> T:
        """Run `coro` on the loop and wait for its result (from any other thread)."""
        if self.in_loop:
            coro.close()
            raise RuntimeError("LoopThread.run called from its own loop: it would deadlock")
        fut = self.submit(coro)
        try:
            return fut.result(timeout=timeout_s)
        except TimeoutError:
            fut.cancel()
            raise

    def call_soon(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        """Cancel what is left on the loop, stop it and join the thread. Idempotent."""
        if not self._thread.is_alive():
            return
        if self.in_loop:
            raise RuntimeError("LoopThread.stop called from its own loop")

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(_cancel_rest(), timeout_s=5)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


async def close_quietly(nc: Client | None, timeout_s: float = 2.0) -> None:
    """Close a connection, swallowing errors (a dead server must not hang shutdown)."""
    if nc is None or nc.is_closed:
        return
    try:
        await asyncio.wait_for(nc.close(), timeout=timeout_s)
    except Exception:  # noqa: BLE001
        pass
