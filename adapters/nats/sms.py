"""The SMS pusher: offers and 1.5 km pushes to workers' phones, replies back as commands.

Owns: `SmsPusher` (a subscriber program) and its durable state in the KV bucket
`LINGONG_SMS`. Gateways (file, console, the `Gateway` protocol) are in `sms_gateway`.

How it runs:
- Work: a durable push consumer `sms-pusher` on `LINGONG_EVT` (`WORK_TYPES`: OfferMade,
  PushSent, and ComplaintStatusChanged: the complainant told of each step of the case)
  delivered to the queue group `sms-pushers`: run as many pushers as you like, each
  event goes to one of them; an unacknowledged one is redelivered.
- Reference data, per pusher: ordered consumers on JobSubmitted (title, headcount, pay)
  and WorkerRegistered/WorkerUpdated (quiet hours); a miss asks the partition's micro
  service (`q.job`, `q.worker`; the partition comes from `ce-source`), and if that fails
  too the event is redelivered later.
- Replies: requests on `lingong.sms.reply` ({"worker_id", "text", "reply_id"}, what a
  gateway's inbound webhook would publish, with the header `Authorization: Bearer
  <token>` of the SMS gateway's identity: an `sms_gateway` token), in the same queue
  group: "1" accepts and "2" declines the last offer texted to that worker, and
  "报名 <培训编号>" signs the worker up for that training session (`cmd.SignUpTraining`,
  channel "sms"; the session's partition comes from its TrainingPublished, a reference
  stream like JobSubmitted), sent to the
  micro service (`cmd.AcceptOffer` / `cmd.DeclineOffer`) under the gateway's own token
  with `Idempotency-Key: sms-<reply_id>` (a gateway retry is a no-op). The micro service
  authenticates the token and authorises the command like any other: a reply without a
  token, or with a token of another role or region, changes nothing and texts no one;
  the offer must be addressed to the worker named.
- The pusher's own look-ups (`q.job`, `q.worker`) use `token` (an sms_gateway token).

Invariants:
- At most one SMS per event id, across restarts and pushers: the id is claimed with a KV
  `create` (`seen.<id>`) before the gateway is called. A pusher dying between claim and
  send loses that one message rather than texting twice.
- Quiet hours (the worker's, from the events; 22:00-07:00 when unknown) and the daily cap
  (per worker per local day, counted in KV with compare-and-set) are checked at delivery
  time; expired offers are not texted. Skips are counted by reason.
- A worker registered at a station's counter without a mobile (`WorkerRegistered` with a
  station and no phone; `q.worker` `contact_station`) is never texted: skipped as
  "station_contact" (the station board and a printed slip carry the offer).
- Texts carry no personal data. Workers are addressed by worker id: events carry only
  masked phones, so a real gateway resolves the number through an authorised look-up of
  the registry (the sealed contact), never from the event stream.

Observing: `stats` counts outcomes; `on_outcome(event_id, outcome)` is called (on the
pusher's loop) after each delivery is settled: acknowledged ("sent" or a skip reason) or
handed back ("retry"), so a caller can wait for "everything given has been handled".

Limits: `daily_cap` SMS per worker per day (10); reference caches of `cache_max` entries
(200,000 each, oldest dropped); KV entries live `SMS_STATE_TTL_S` (3 days).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable

import msgspec
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, KeyValueConfig, StorageType

from adapters.nats import cloudevents as ce
from adapters.nats import sms_text as tx
from adapters.nats.conn import close_quietly, connect
from adapters.nats.micro import api_subject
from adapters.nats.sms_gateway import FileGateway as FileGateway  # re-export
from adapters.nats.sms_gateway import Gateway
from adapters.nats.sms_gateway import gateway_from_spec as gateway_from_spec  # re-export
from adapters.nats.streams import auto_replicas, ensure_stream
from engine import commands as c
from engine import events as e
from engine.carry import carry
from engine.geo import local_day

SMS_BUCKET = "LINGONG_SMS"
SMS_STATE_TTL_S = 3 * 86400.0
REPLY_SUBJECT = "lingong.sms.reply"
TRAINING_WAIT_S = 3.0  # a sign-up reply may overtake its TrainingPublished reference
MAX_TRAINING_WAITS = 1000
DEFAULT_QUIET = (22 * 60, 7 * 60)
# the events texted: offers, pushes, and each step of a worker's complaint
WORK_TYPES = ("OfferMade", "PushSent", "ComplaintStatusChanged")
_KEY = re.compile(r"^[A-Za-z0-9_.:/-]{1,50}$")
log = logging.getLogger("lingong.nats.sms")


class PusherStats(msgspec.Struct, kw_only=True):
    sent: int = 0
    skipped: dict[str, int] = {}
    redelivered: int = 0
    replies: int = 0
    accepted: int = 0
    declined: int = 0
    signed_up: int = 0
    reply_failed: int = 0


class _Lru(collections.OrderedDict):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.limit:
            self.popitem(last=False)


class SmsPusher:
    def __init__(
        self,
        url: str,
        gateway: Gateway,
        *,
        durable: str = "sms-pusher",
        queue: str = "sms-pushers",
        daily_cap: int = 10,
        since_s: float = 600.0,
        clock: Callable[[], int] | None = None,
        cache_max: int = 200_000,
        on_outcome: Callable[[str, str], None] | None = None,
        token: str = "",
        reference_wait_s: float = TRAINING_WAIT_S,
    ) -> None:
        self.url = url
        self.reference_wait_s = reference_wait_s
        self.token = token
        self.gateway = gateway
        self.durable = durable
        self.queue = queue
        self.daily_cap = daily_cap
        self.since_s = since_s
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.jobs: _Lru = _Lru(cache_max)
        self.quiet: _Lru = _Lru(cache_max)
        # workers registered at a counter without a mobile: their station is the contact
        self.station_contact: _Lru = _Lru(cache_max)
        self.trainings: _Lru = _Lru(cache_max)  # training id -> (title, partition)
        self._training_waits: dict[str, asyncio.Event] = {}
        self.stats = PusherStats()
        self.on_outcome = on_outcome
        self._nc = None
        self._kv = None
        self._subs: list = []

    # ------------------------------------------------------------ start / stop ------

    async def start(self) -> SmsPusher:
        self._nc = nc = await connect(self.url, f"lingong-sms-{self.durable}")
        js = nc.jetstream(timeout=10)
        replicas = auto_replicas(nc)
        await ensure_stream(js, ce.EVT_STREAM, [f"{ce.EVT_PREFIX}.>"], replicas)
        try:
            self._kv = await js.key_value(SMS_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            with contextlib.suppress(nats.js.errors.BadRequestError):
                await js.create_key_value(
                    KeyValueConfig(
                        bucket=SMS_BUCKET,
                        history=1,
                        ttl=SMS_STATE_TTL_S,
                        storage=StorageType.FILE,
                        replicas=replicas,
                    )
                )
            self._kv = await js.key_value(SMS_BUCKET)
        for name in ("JobSubmitted", "WorkerRegistered", "WorkerUpdated", "TrainingPublished"):
            self._subs.append(
                await js.subscribe(
                    f"{ce.EVT_PREFIX}.*.*.*.{name}", ordered_consumer=True, cb=self._on_reference
                )
            )
        deliver = f"lingong.sms.deliver.{ce.token(self.durable)}"
        since = dt.datetime.fromtimestamp(time.time() - self.since_s, dt.UTC)
        cfg = ConsumerConfig(
            durable_name=self.durable,
            deliver_subject=deliver,
            deliver_group=self.queue,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=since,
            filter_subjects=[f"{ce.EVT_PREFIX}.*.*.*.{t}" for t in WORK_TYPES],
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_deliver=20,
        )
        try:  # the durable is shared: create it once, then every pusher reuses it
            await js.consumer_info(ce.EVT_STREAM, self.durable)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_consumer(ce.EVT_STREAM, cfg)
            except nats.js.errors.APIError:  # created concurrently by another pusher
                await js.consumer_info(ce.EVT_STREAM, self.durable)
        self._subs.append(await nc.subscribe(deliver, queue=self.queue, cb=self._on_work))
        self._subs.append(await nc.subscribe(REPLY_SUBJECT, queue=self.queue, cb=self._on_reply))
        await nc.flush()
        return self

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        await close_quietly(self._nc)

    # ------------------------------------------------------------ reference data ----

    async def _on_reference(self, msg) -> None:
        try:
            ev = ce.decode_body(msg.data)
        except msgspec.DecodeError:
            return
        if isinstance(ev, e.JobSubmitted):
            self.jobs.put(ev.job_id, _job_info(ev))
        elif isinstance(ev, e.WorkerRegistered | e.WorkerUpdated):
            self.quiet.put(ev.worker_id, (ev.quiet_start_min, ev.quiet_end_min))
            if isinstance(ev, e.WorkerRegistered) and ev.station_id and not ev.phone_masked:
                self.station_contact.put(ev.worker_id, ev.station_id)
        elif isinstance(ev, e.TrainingPublished):
            partition = (msg.headers or {}).get("ce-source", "").rsplit("/", 1)[-1]
            self.trainings.put(ev.training_id, (ev.title, partition))
            waiting = self._training_waits.pop(ev.training_id, None)
            if waiting is not None:
                waiting.set()

    async def _query(self, partition: str, endpoint: str, body: dict) -> dict | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        try:
            msg = await self._nc.request(
                api_subject(partition, endpoint),
                json.dumps(body).encode(),
                timeout=5,
                headers=headers,
            )
        except (TimeoutError, nats.errors.Error):
            return None
        if (msg.headers or {}).get("Nats-Service-Error-Code"):
            return None
        return json.loads(msg.data)

    async def _job(self, job_id: str, partition: str) -> tx.JobInfo | None:
        job = self.jobs.get(job_id)
        if job is None:
            view = await self._query(partition, "q.job", {"job_id": job_id})
            if view is not None:
                job = msgspec.convert(view, tx.JobInfo, strict=False)
                self.jobs.put(job_id, job)
        return job

    async def _quiet_of(self, worker_id: str, partition: str) -> tuple[int, int]:
        quiet = self.quiet.get(worker_id)
        if quiet is None:
            view = await self._query(partition, "q.worker", {"worker_id": worker_id})
            quiet = (
                DEFAULT_QUIET if view is None else (view["quiet_start_min"], view["quiet_end_min"])
            )
            if view is not None and view.get("contact_station"):
                self.station_contact.put(worker_id, view["contact_station"])
        return quiet

    # ------------------------------------------------------------ offers / pushes ---

    async def _on_work(self, msg) -> None:
        try:
            outcome = await self._deliver(msg)
        except Exception:  # noqa: BLE001 - redeliver later rather than lose the message
            log.exception("sms pusher: delivery failed")
            outcome = "retry"
        if outcome == "retry":
            self.stats.redelivered += 1
            await msg.nak(delay=1.0)
        else:
            if outcome != "sent":
                self.stats.skipped[outcome] = self.stats.skipped.get(outcome, 0) + 1
            await msg.ack()
        if self.on_outcome is not None:
            self.on_outcome((msg.headers or {}).get("ce-id", ""), outcome)

    async def _deliver(self, msg) -> str:
        hdr = msg.headers or {}
        ev_id = hdr.get("ce-id", "")
        ev = ce.decode_body(msg.data)
        if ev_id and isinstance(ev, e.ComplaintStatusChanged):
            partition = hdr.get("ce-source", "").rsplit("/", 1)[-1]
            await self._quiet_of(ev.worker_id, partition)  # learns a station contact
            if ev.worker_id in self.station_contact:
                return "station_contact"
            return await self._complaint_step(ev, ev_id)
        if not ev_id or not isinstance(ev, e.OfferMade | e.PushSent):
            return "not_for_sms"
        partition = hdr.get("ce-source", "").rsplit("/", 1)[-1]
        now = self.clock()
        if isinstance(ev, e.OfferMade) and ev.expires_ms <= now:
            return "expired"
        job = await self._job(ev.job_id, partition)
        if job is None:
            return "retry"
        quiet = await self._quiet_of(ev.worker_id, partition)
        if ev.worker_id in self.station_contact:  # no mobile: the board and a slip carry it
            return "station_contact"
        if tx.in_quiet_hours(now, *quiet):
            return "quiet_hours"
        try:
            await self._kv.create(f"seen.{ce.token(ev_id)}", b"1")
        except nats.js.errors.KeyWrongLastSequenceError:
            return "duplicate"
        if not await self._count(ev.worker_id, now):
            return "daily_cap"
        if isinstance(ev, e.OfferMade):
            text = tx.offer_text(job, ev.distance_m)
            memo = {
                "offer_id": ev.offer_id,
                "job_id": ev.job_id,
                "partition": partition,
                "expires_ms": ev.expires_ms,
                "title": job.title,
            }
            await self._kv.put(f"offer.{ce.token(ev.worker_id)}", json.dumps(memo).encode())
        else:
            text = tx.push_text(job, ev.distance_m)
        self.gateway.send(ev.worker_id, text, event_id=ev_id)
        self.stats.sent += 1
        return "sent"

    async def _complaint_step(self, ev: e.ComplaintStatusChanged, ev_id: str) -> str:
        """The complainant is told of each step: once per event, outside the daily cap of
        offers and pushes and not held by quiet hours (staff act in office hours)."""
        if not ev.worker_id:
            return "no_worker"
        try:
            await self._kv.create(f"seen.{ce.token(ev_id)}", b"1")
        except nats.js.errors.KeyWrongLastSequenceError:
            return "duplicate"
        self.gateway.send(ev.worker_id, tx.complaint_text(ev.kind, ev.status), event_id=ev_id)
        self.stats.sent += 1
        return "sent"

    async def _count(self, worker_id: str, now_ms: int) -> bool:
        """Count one SMS for the worker today; False when the cap is reached."""
        key = f"count.{local_day(now_ms).replace('-', '')}.{ce.token(worker_id)}"
        for _ in range(20):
            try:
                entry = await self._kv.get(key)
            except nats.js.errors.KeyNotFoundError:
                entry = None
            n = int(entry.value) if entry is not None and entry.value else 0
            if n >= self.daily_cap:
                return False
            try:
                if entry is None:
                    await self._kv.create(key, str(n + 1).encode())
                else:
                    await self._kv.update(key, str(n + 1).encode(), last=entry.revision)
                return True
            except nats.js.errors.KeyWrongLastSequenceError:
                continue  # another pusher counted at the same time: read again
        return False

    # ------------------------------------------------------------ replies -----------

    async def _on_reply(self, msg) -> None:
        self.stats.replies += 1
        auth = (msg.headers or {}).get("Authorization", "")
        if not auth.startswith("Bearer "):
            self.stats.reply_failed += 1
            await _answer(msg, {"ok": False, "error": "unauthenticated: send the gateway's token"})
            return
        try:
            if len(msg.data) > 4096:
                raise ValueError("too large")
            body = json.loads(msg.data)
            worker_id, text = str(body["worker_id"])[:64], str(body["text"])[:160]
            reply_id = str(
                body.get("reply_id") or hashlib.blake2b(msg.data, digest_size=8).hexdigest()
            )
        except (ValueError, KeyError, TypeError):
            await _answer(msg, {"ok": False, "error": "body must be {worker_id, text, reply_id}"})
            return
        out = await self.handle_reply(worker_id, text, reply_id, auth)
        await _answer(msg, out)

    async def handle_reply(self, worker_id: str, text: str, reply_id: str, auth: str) -> dict:
        """Turn an SMS reply into AcceptOffer/DeclineOffer and text the outcome back.

        `auth` is the gateway's `Authorization` header, passed on to the micro service. No
        one is texted before the micro service has accepted the gateway's identity and
        scope for this worker (`q.worker` under that token), so a forged reply texts no one.
        """
        training_id = tx.parse_sign_up(text)
        if training_id is not None:
            return await self._sign_up(worker_id, training_id, reply_id, auth)
        action = tx.parse_reply(text)
        event_id = f"reply-{reply_id}"
        try:
            entry = await self._kv.get(f"offer.{ce.token(worker_id)}")
            memo = json.loads(entry.value or b"{}")
        except nats.js.errors.KeyNotFoundError:
            memo = {}
        if not memo:
            return {"ok": False, "error": "no offer to answer"}
        refused = await self._gateway_refused(memo["partition"], worker_id, auth)
        if refused is not None:
            self.stats.reply_failed += 1
            return refused
        if action is None:
            self.gateway.send(worker_id, tx.HELP_TEXT, event_id=event_id)
            return {"ok": False, "error": "unknown reply"}
        cls = c.AcceptOffer if action == "accept" else c.DeclineOffer
        body = {"offer_id": memo["offer_id"], "worker_id": worker_id}
        if action == "decline":
            body["reason"] = "sms"
        key = (
            reply_id
            if _KEY.match(reply_id)
            else hashlib.blake2b(reply_id.encode(), digest_size=8).hexdigest()
        )
        headers = {"Authorization": auth, "Idempotency-Key": f"sms-{key}"}
        try:
            resp = await self._nc.request(
                api_subject(memo["partition"], f"cmd.{cls.__name__}"),
                json.dumps(body).encode(),
                timeout=10,
                headers=headers,
            )
        except (TimeoutError, nats.errors.Error) as exc:
            self.stats.reply_failed += 1
            return {"ok": False, "error": f"engine unreachable: {exc}", "retry": True}
        error = (resp.headers or {}).get("Nats-Service-Error")
        if error:
            self.stats.reply_failed += 1
            code = (resp.headers or {}).get("Nats-Service-Error-Code", "")
            if code in ("401", "403"):  # not the gateway's identity or scope: text no one
                return {"ok": False, "error": error, "code": int(code)}
            message = json.loads(resp.data or b"{}").get("refusal", {}).get("message", error)
            self.gateway.send(worker_id, tx.failed_text(message), event_id=event_id)
            return {"ok": False, "error": error, "offer_id": memo["offer_id"]}
        if action == "accept":
            self.stats.accepted += 1
            self.gateway.send(worker_id, tx.accepted_text(memo["title"]), event_id=event_id)
        else:
            self.stats.declined += 1
            self.gateway.send(worker_id, tx.declined_text(memo["title"]), event_id=event_id)
        with contextlib.suppress(Exception):
            await self._kv.delete(f"offer.{ce.token(worker_id)}")
        return {
            "ok": True,
            "command": cls.__name__,
            "offer_id": memo["offer_id"],
            "result": json.loads(resp.data),
        }

    async def _training(self, training_id: str) -> tuple[str, str] | None:
        """(title, partition) of a training, waiting up to `reference_wait_s` for its
        TrainingPublished when the reply overtook the reference stream."""
        hit = self.trainings.get(training_id)
        if hit is not None or len(self._training_waits) >= MAX_TRAINING_WAITS:
            return hit
        waiting = self._training_waits.setdefault(training_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.wait(), self.reference_wait_s)
        self._training_waits.pop(training_id, None)
        return self.trainings.get(training_id)

    async def _sign_up(self, worker_id: str, training_id: str, reply_id: str, auth: str) -> dict:
        """ "报名 <training id>": SignUpTraining (channel "sms") under the gateway's token."""
        event_id = f"reply-{reply_id}"
        known = await self._training(training_id)
        if known is None:
            self.stats.reply_failed += 1
            return {"ok": False, "error": "unknown training"}
        title, partition = known
        refused = await self._gateway_refused(partition, worker_id, auth)
        if refused is not None:
            self.stats.reply_failed += 1
            return refused
        body = {"training_id": training_id, "worker_id": worker_id, "channel": "sms"}
        key = (
            reply_id
            if _KEY.match(reply_id)
            else hashlib.blake2b(reply_id.encode(), digest_size=8).hexdigest()
        )
        headers = {"Authorization": auth, "Idempotency-Key": f"sms-{key}"}
        try:
            resp = await self._nc.request(
                api_subject(partition, "cmd.SignUpTraining"),
                json.dumps(body).encode(),
                timeout=10,
                headers=headers,
            )
        except (TimeoutError, nats.errors.Error) as exc:
            self.stats.reply_failed += 1
            return {"ok": False, "error": f"engine unreachable: {exc}", "retry": True}
        error = (resp.headers or {}).get("Nats-Service-Error")
        if error:
            self.stats.reply_failed += 1
            code = (resp.headers or {}).get("Nats-Service-Error-Code", "")
            if code in ("401", "403"):
                return {"ok": False, "error": error, "code": int(code)}
            message = json.loads(resp.data or b"{}").get("refusal", {}).get("message", error)
            self.gateway.send(worker_id, tx.failed_text(message), event_id=event_id)
            return {"ok": False, "error": error, "training_id": training_id}
        self.stats.signed_up += 1
        self.gateway.send(worker_id, tx.signed_up_text(title), event_id=event_id)
        return {
            "ok": True,
            "command": "SignUpTraining",
            "training_id": training_id,
            "result": json.loads(resp.data),
        }

    async def _gateway_refused(self, partition: str, worker_id: str, auth: str) -> dict | None:
        """None when `auth` is the SMS gateway's and may act for `worker_id`, else the error."""
        asks = (("q.caller", {}), ("q.worker", {"worker_id": worker_id}))
        for endpoint, body in asks:
            try:
                resp = await self._nc.request(
                    api_subject(partition, endpoint),
                    json.dumps(body).encode(),
                    timeout=10,
                    headers={"Authorization": auth},
                )
            except (TimeoutError, nats.errors.Error) as exc:
                return {"ok": False, "error": f"engine unreachable: {exc}", "retry": True}
            code = (resp.headers or {}).get("Nats-Service-Error-Code", "")
            if code:
                error = (resp.headers or {}).get("Nats-Service-Error", "")
                return {"ok": False, "error": error, "code": int(code) if code.isdigit() else 0}
            if endpoint == "q.caller" and json.loads(resp.data).get("role") != "sms_gateway":
                return {"ok": False, "error": "only the SMS gateway's token", "code": 403}
        return None


def _job_info(ev: e.JobSubmitted) -> tx.JobInfo:
    return carry(ev, tx.JobInfo)


async def _answer(msg, body: dict) -> None:
    if msg.reply:
        await msg.respond(json.dumps(body, ensure_ascii=False).encode())
