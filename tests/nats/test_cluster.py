"""A 3-node JetStream cluster, R3 log: a NATS node and then the engine die under load.

The engine runs in a subprocess (`lingong nats-engine`) with a standby waiting for the
partition's lease. A driver sends a bounded morning of commands through the micro service
(`cmd.<Type>`, with bearer tokens both engines' data folders hold), retrying with the same
Idempotency-Key until it gets an answer. The engines stamp time from the system clock, so
the morning is tomorrow's (local): every posting still lies ahead of the engine's now. Then: no acknowledged command
is missing from the log (same seq), the standby owns the partition, its state digest
equals a replay of the log, and every event of the log was published exactly once.
Both engines get the operator's key-encryption key (`--kek-file`), so personal-data keys
live in the replicated KV bucket: after the takeover a report is built from the JetStream
log, a registration sealed by the dead owner is unsealed with the bucket's key, and an
erasure sent to the new owner removes the key from the bucket on every live replica.

Every wait is on an event (a printed line, an answer, a message) with a generous hang
guard; the only sleeps are retry back-offs and the bounded poll of the servers'
monitoring endpoints (marked `# sleep-ok`).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import nats.errors

from adapters.gate.bodies import request_of
from adapters.gate.routes import route_of
from adapters.gate.tokens import TokenStore
from adapters.nats.jslog import STREAM, JetStreamLog
from adapters.nats.keys import BUCKET as KEY_BUCKET
from adapters.nats.keys import KvKeyStore
from adapters.nats.micro import ResultWire, api_subject
from adapters.shell.pii import Sealer
from engine import commands as c
from engine import events as e
from sim.morning import Morning, Sizes
from tests.nats.helpers import HANG_S, connect, replay_digest
from tests.nats.servers import start_cluster

PARTITION = "4206"
MAX_COMMANDS = 900
DRIVE_HANG_S = 900.0  # a hang guard for the whole drive: never reached on a healthy machine
WINDOW = 24  # commands in flight
timeline: list[tuple[str, float]] = []  # for the printout only, never asserted on
_wire = msgspec.json.Decoder(ResultWire)
_ACTORS: dict[str, str] = {}  # token -> the actor id the gate prefixes its command ids with
ROOT = Path(__file__).resolve().parents[2]


class Engine:
    """`lingong nats-engine` in a subprocess; `lines` gets its stdout (None at its end)."""

    def __init__(self, url: str, data: Path, name: str, kek_file: Path) -> None:
        self.name = name
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.err = open(data.parent / f"{name}.stderr", "wb")  # noqa: SIM115
        cmd = [
            sys.executable,
            "-m",
            "lingong.cli",
            "nats-engine",
            "--nats",
            url,
            "--partition",
            PARTITION,
            "--data",
            str(data),
            "--tick-ms",
            "0",
            "--lease-ttl-s",
            "10",
            "--kek-file",
            str(kek_file),
            "-v",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("LINGONG_KEK", None)
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self.err, cwd=ROOT, env=env, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)  # the process closed its stdout: wake any waiter at once

    def wait_line(self, word: str, hang_s: float = HANG_S) -> list[str]:
        """The lines printed up to and including the first that contains `word` (blocks on
        the reader's queue: the line itself is the event; `hang_s` only guards a hang)."""
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=hang_s)
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(
                    f"engine {self.name} never printed {word!r} (got {seen}): {self.stderr_tail()}"
                )
            seen.append(line)
            if word in line:
                return seen

    def stderr_tail(self) -> str:
        self.err.flush()
        return Path(self.err.name).read_bytes()[-3000:].decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.err.close()


def morning_commands(n: int) -> tuple[list[c.Command], Morning]:
    import datetime as dt

    tomorrow = (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(days=1)).date()
    sizes = Sizes(stations_per_city=4, workers=300, employers=20, postings=60)
    m = Morning(seed=5, sizes=sizes, date=tomorrow.isoformat())
    out = list(m.setup())
    for _, cmd in m.timeline():
        if isinstance(cmd, c.CheckIn):  # until the end of the engine's day, not tomorrow's
            cmd = msgspec.structs.replace(cmd, available_until_ms=0)
        if not isinstance(cmd, c.Advance):
            out.append(cmd)
    return out[:n], m


def make_tokens(root: Path, morning: Morning, folders: list[Path]) -> dict[str, str]:
    """The callers' tokens, in every engine's data folder (`DATA/tokens.json`)."""
    store = TokenStore(root)
    stations = {sid: region for sid, region, _, _ in morning.stations}
    out = {
        "admin": store.create("admin", "", nationwide=True)[0],
        "front_end": store.create("front_end", "42")[0],
    }
    for sid, region in stations.items():
        out[sid] = store.create(
            "station_staff", region[:4], sid, stations=stations, name="站员" + sid
        )[0]
    for token in out.values():  # a named staff token acts as its account
        rec = store.verify(token)
        assert rec is not None
        _ACTORS[token] = rec.actor_id
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "tokens.json", folder / "tokens.json")
    return out


def token_of(cmd: c.Command, tokens: dict[str, str]) -> str:
    name = type(cmd).__name__
    if name in ("SetPolicy", "RegisterStation", "ChangeStationStatus"):
        return tokens["admin"]
    if name in ("PublishTraining", "SignUpTraining", "CompleteTraining", "PublishPolicyAnswer"):
        return tokens["admin"]  # the station's work (any sign-up channel): an admin's token
    if name in ("ReviewJob", "RingBell"):
        return tokens[cmd.station_id]  # type: ignore[attr-defined]
    return tokens["front_end"]


async def drive(
    url: str,
    cmds: list[c.Command],
    actions: dict[int, object],
    tokens: dict[str, str],
    ordered: int = 0,
) -> dict[str, int]:
    """Send every command (WINDOW in flight), retrying until answered; run `actions[i]()`
    once command i has been answered. The first `ordered` commands (reference data: a
    station before its approval) go one at a time, as a front end waits for the answer
    before the next step. Returns command id -> seq of acknowledged ones."""
    nc = await connect(url)
    acked: dict[str, int] = {}
    refused: dict[str, int] = {}  # error line -> count (shown when too few were acked)
    answered = 0
    progress = asyncio.Condition()  # notified at every answer
    sem = asyncio.Semaphore(WINDOW)

    async def one(cmd: c.Command) -> None:
        nonlocal answered
        route = route_of(type(cmd).__name__)
        body = request_of(cmd, route)
        token = token_of(cmd, tokens)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": cmd.command_id}
        command_id = f"{_ACTORS[token]}:{cmd.command_id}"  # as the gate makes it
        async with sem:
            while True:  # retried until answered (the same command id: idempotent)
                try:
                    msg = await nc.request(
                        route.nats_subject(PARTITION), body, timeout=3, headers=headers
                    )
                except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                    await asyncio.sleep(0.2)  # sleep-ok: retry back-off while no one serves
                    continue
                code = (msg.headers or {}).get("Nats-Service-Error-Code")
                if code == "503":  # engine stopping / busy: try again (maybe elsewhere)
                    await asyncio.sleep(0.2)  # sleep-ok: retry back-off
                    continue
                if code is None:
                    res = _wire.decode(msg.data)
                    acked[command_id] = res.seq
                else:
                    error = (msg.headers or {}).get("Nats-Service-Error", "")
                    refused[error[:60]] = refused.get(error[:60], 0) + 1
                break
        async with progress:
            answered += 1
            progress.notify_all()

    async def run_all() -> None:
        tasks = []
        for i, cmd in enumerate(cmds):
            tasks.append(asyncio.create_task(one(cmd)))
            if i < ordered:
                await tasks[-1]  # in causal order: the next may depend on this one
            if i in actions:
                async with progress:  # let the load get there first
                    await progress.wait_for(lambda n=i: answered >= n)
                timeline.append((f"action at {i} ({answered} answered)", time.monotonic()))
                await actions[i]()  # type: ignore[operator]
        await asyncio.gather(*tasks)

    try:
        await asyncio.wait_for(run_all(), DRIVE_HANG_S)
    finally:
        await nc.close()
    timeline.append(("done", time.monotonic()))
    timeline.append((f"refused: {sorted(refused.items(), key=lambda kv: -kv[1])[:20]}", 0.0))
    return acked


async def digest_of_owner(url: str, token: str) -> dict:
    nc = await connect(url)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        msg = await nc.request(
            api_subject(PARTITION, "q.digest"), b"{}", timeout=HANG_S, headers=headers
        )
        return json.loads(msg.data)
    finally:
        await nc.close()


async def published_ids(url: str, want: int) -> list[str]:
    """The ce-ids in the event stream once it holds at least `want` messages (the new
    owner's publisher may still be catching up): read until `want` arrived and the last
    one says none is pending. Fewer after the hang guard: returns what it has."""
    nc = await connect(url)
    try:
        sub = await nc.jetstream().subscribe("lingong.evt.>", ordered_consumer=True)
        ids = []
        while True:
            try:
                msg = await sub.next_msg(timeout=HANG_S)
            except nats.errors.TimeoutError:
                return ids
            ids.append(msg.headers["ce-id"])
            if len(ids) >= want and msg.metadata.num_pending == 0:
                return ids
    finally:
        await nc.close()


async def stream_leader(url: str) -> str:
    nc = await connect(url)
    try:
        info = await nc.jetstream().stream_info(STREAM)
        return info.cluster.leader
    finally:
        await nc.close()


async def erase_worker(url: str, token: str, worker_id: str) -> ResultWire:
    """`EraseWorker` through the micro service (to whichever engine serves now)."""
    cmd = c.EraseWorker(command_id="erase-after-takeover", ts_ms=0, worker_id=worker_id,
                        reason="本人申请删除")  # fmt: skip
    route = route_of("EraseWorker")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": cmd.command_id}
    nc = await connect(url)
    try:
        msg = await nc.request(
            route.nats_subject(PARTITION), request_of(cmd, route), timeout=HANG_S, headers=headers
        )
        assert "Nats-Service-Error" not in (msg.headers or {}), msg.headers
        return _wire.decode(msg.data)
    finally:
        await nc.close()


def key_replicas(node) -> tuple[int, int]:  # noqa: ANN001 - a tests.nats.servers.NatsServer
    """(last stream seq, messages) of this node's own replica of the key bucket's stream."""
    jsz = node.varz("jsz?accounts=true&streams=true")
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            if stream["name"] == f"KV_{KEY_BUCKET}":
                return int(stream["state"]["last_seq"]), int(stream["state"]["messages"])
    return 0, 0


def wait_replicas_at(nodes: list, seq: int) -> list[tuple[int, int]]:
    """Each live node's replica state once its last seq reached `seq` (hang-guarded)."""
    deadline = time.monotonic() + HANG_S
    while True:
        states = [key_replicas(n) for n in nodes]
        if all(last >= seq for last, _ in states) or time.monotonic() > deadline:
            return states
        time.sleep(0.1)  # sleep-ok: poll of the servers' monitoring endpoints, hang-guarded


def report_from_log(url: str, folder: Path) -> dict:
    """`lingong report directory --log nats://.../LINGONG_LOG/PARTITION` (a new process)."""
    folder.mkdir()
    log_url = f"{url}/{STREAM}/{PARTITION}"
    out = subprocess.run(
        [sys.executable, "-m", "lingong.cli", "report", "directory", "--data", str(folder),
         "--log", log_url, "--format", "json", "--out", str(folder / "r.json"), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=HANG_S,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_node_then_engine_die_under_load(tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path / "cluster")
    url = cluster.url
    engines: list[Engine] = []
    cmds, morning = morning_commands(MAX_COMMANDS)
    tokens = make_tokens(tmp_path, morning, [tmp_path / "engine-a", tmp_path / "engine-b"])
    kek = os.urandom(32)
    kek_file = tmp_path / "kek"
    kek_file.write_text(kek.hex())
    try:
        a = Engine(url, tmp_path / "engine-a", "a", kek_file)
        engines.append(a)
        a.wait_line("serving")
        b = Engine(url, tmp_path / "engine-b", "b", kek_file)  # the standby: waits for the lease
        engines.append(b)
        first = b.wait_line("standing by")  # refused the lease: a owns the partition
        assert not any("serving" in line for line in first) and b.proc.poll() is None
        killed: dict[str, object] = {}

        async def kill_node() -> None:
            leader = await stream_leader(url)
            node = next(n for n in cluster.nodes if n.name == leader)
            node.kill()  # SIGKILL the log stream's leader
            killed["node"] = leader

        async def kill_engine() -> None:
            a.kill()
            killed["engine"] = a.name
            timeline.append(("engine a killed", time.monotonic()))

        timeline.append(("start", time.monotonic()))
        acked = asyncio.run(
            drive(
                url,
                cmds,
                {len(cmds) // 3: kill_node, 2 * len(cmds) // 3: kill_engine},
                tokens,
                ordered=next(  # the policy and the stations with their approvals
                    i
                    for i, x in enumerate(cmds)
                    if not isinstance(x, (c.SetPolicy, c.RegisterStation, c.ChangeStationStatus))
                ),
            )
        )
        assert killed.get("node") and killed.get("engine")
        b.wait_line("serving")  # it took over during the run: it answered the later commands
        t0 = timeline[0][1]
        print([(what, round(t - t0, 2)) for what, t in timeline], len(acked), "of", len(cmds))
        reader = JetStreamLog(url, PARTITION, read_only=True)
        try:
            payloads = [p for _, p in reader.read()]  # verifies seqs and the hash chain
        finally:
            reader.close()
        seq_of = {}
        events = 0
        for seq, payload in enumerate(payloads, 1):
            record = e.decode_record(payload)
            seq_of.setdefault(record.cmd_id, seq)
            events += len(record.events)
        lost = {cid: s for cid, s in acked.items() if seq_of.get(cid) != s}
        assert not lost, f"acknowledged commands missing or moved: {list(lost.items())[:5]}"
        owner = asyncio.run(digest_of_owner(url, tokens["admin"]))
        assert owner == {"seq": len(payloads), "digest": replay_digest(payloads)}
        # durability holds (above); most commands are accepted, not refused (the refusals
        # of the run are in the timeline's last entry)
        refusals = timeline[-1][0]
        assert len(acked) > len(cmds) * 0.9, (len(acked), refusals, b.stderr_tail())
        ids = asyncio.run(published_ids(url, events))
        assert len(ids) == len(set(ids)) == events

        # keys followed the log: neither engine kept one on its machine
        assert not any((tmp_path / f"engine-{n}" / "keys").exists() for n in "ab")
        # a report from the JetStream log after the takeover
        report = report_from_log(url, tmp_path / "report")
        assert report["position"] >= len(payloads) and sum(report["rows"].values()) > 0, report
        # the new owner's key store unseals what the dead owner sealed
        registered = {cmd.worker_id: cmd for cmd in cmds if isinstance(cmd, c.RegisterWorker)}
        sealed_by_a = next(
            (ev.worker_id, ev.sealed)
            for payload in payloads[: len(payloads) // 3]
            for ev in e.decode_record(payload).events
            if isinstance(ev, e.WorkerRegistered) and ev.sealed
        )
        wid, blob = sealed_by_a
        keys = KvKeyStore(url, kek, timeout_s=HANG_S)
        try:
            plain = Sealer(keys).unseal(wid, blob)
            assert plain is not None and plain["mobile"] == registered[wid].personal.mobile
            # an erasure after the takeover, by the new owner, reaches every live replica
            res = asyncio.run(erase_worker(url, tokens["admin"], wid))
            assert Sealer(keys).unseal(wid, blob) is None
        finally:
            keys.close()
        assert res.seq > len(payloads)
        live = [n for n in cluster.nodes if n.alive]
        leader_seq = max(last for last, _ in (key_replicas(n) for n in live))
        assert leader_seq > 0  # the bucket's stream was found on the live nodes
        states = wait_replicas_at(live, leader_seq)
        assert len(live) == 2 and len(set(states)) == 1 and states[0][0] >= leader_seq, states
    finally:
        for eng in engines:
            eng.kill()
        cluster.stop()
