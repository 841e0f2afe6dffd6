"""Training sessions and policy Q&A of the stations: their state, rules, fold and scope.

Owns:
- `TrainingBook`, the part of `State` that remembers trainings (station, region, title,
  time, capacity, who signed up and who completed) and the policy Q&A entries, which the
  HTTP reads list (`adapters.http.routes_training`);
- the deciders of `PublishTraining`, `SignUpTraining`, `CompleteTraining` and
  `PublishPolicyAnswer` (called from `engine.rules`), their folds (`engine.fold`) and
  their scope checks (`engine.authz`).

The seeds: stations offer 政策咨询、培训报名 (Xiangyang art. 3, art. 7), collect training
needs and organise sign-ups (Guangxi 四(三)), and answer policy questions (Shandong 四(四)).
Workers sign up at the counter, by app or by SMS reply; reports count sign-ups and
completions per station (`adapters.stores.report_training`).

Invariants:
- Pure and deterministic (no clock: `ts_ms` from the command). A refusal names field and
  rule and changes nothing.
- A training is published only by an approved station (its staff, or an admin of its
  region); sign-ups close at the session's end and never exceed its capacity; a worker
  signs up once per session; an erased worker cannot sign up; a completion needs a
  sign-up and the session's start to have passed, and is recorded once.
- The channel is the caller's: station staff sign up at the counter ("counter") for
  their own station's sessions, a front end by app ("app"), the SMS gateway by SMS
  ("sms"); an admin may record any channel.
- Free text (titles, descriptions, questions, answers) passes the engine's phone/ID screen
  like every command string.

Limits: at most `MAX_TRAININGS` sessions, `MAX_SIGNUPS` sign-ups (of those sessions) and
`MAX_POLICY_ENTRIES` Q&A entries in the state (refused beyond: "max_trainings",
"max_signups", "max_policy_entries"). A session leaves the state `TRAINING_KEEP_MS` (30
days) after its end, with its sign-ups (the fold of the next `Tick`, as jobs and hires
leave: `State.leaving`); completions are recorded until then; the log and the stores
keep it. So neither limit is a count of everything ever published: a market publishing
sessions for years never meets them. A training id is unique among the sessions in the
state (as a job id among the jobs). Q&A entries stay (a library, bounded by its limit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.reference import occupations

if TYPE_CHECKING:
    from engine.authz import Caller
    from engine.rules_common import Decided
    from engine.state import State

MAX_TRAININGS = 100_000
MAX_SIGNUPS = 2_000_000
MAX_POLICY_ENTRIES = 10_000  # each up to ~3 kB of text: at most ~30 MB
MAX_TRAINING_DAYS = 366  # one session spans at most a year
DAY_MS = 86_400_000
TRAINING_KEEP_MS = 30 * DAY_MS  # after its end: completions are recorded until then
CHANNEL_OF_ROLE = {"station_staff": "counter", "front_end": "app", "sms_gateway": "sms"}


class Training(msgspec.Struct, kw_only=True):
    station_id: str
    region: str
    title: str
    skill: str
    address: str
    start_ms: int
    end_ms: int
    capacity: int
    signed: dict[str, bool] = {}  # worker id -> completed


class PolicyEntry(msgspec.Struct, kw_only=True):
    station_id: str
    region: str
    topic: str
    question: str
    answer: str
    ts_ms: int


class TrainingBook(msgspec.Struct, kw_only=True):
    trainings: dict[str, Training] = {}
    entries: dict[str, PolicyEntry] = {}  # policy Q&A, by entry id
    signups: int = 0  # sign-ups of the sessions in the state (MAX_SIGNUPS)

    def empty(self) -> bool:
        return not self.trainings and not self.entries

    def digest_items(self) -> list[Any]:
        return [sorted(self.trainings.items()), sorted(self.entries.items()), self.signups]


# ------------------------------------------------------------------ rules -----------


def _approved_station(state: State, station_id: str) -> Any:
    st = state.stations.get(station_id)
    if st is None:
        raise Refusal("station_id", "exists", f"no station {c.clip(station_id)!r}")
    if st.status not in ("approved", "rectifying"):  # under 限期整改 a station keeps serving
        raise Refusal("station_id", "station_not_approved", "only an approved station publishes")
    return st


def publish_training(state: State, cmd: c.PublishTraining, ts: int) -> Decided:
    from engine.rules_common import Decided

    st = _approved_station(state, cmd.station_id)
    book = state.training
    if cmd.training_id in book.trainings:
        raise Refusal("training_id", "unique", "a training with this id exists")
    if len(book.trainings) >= MAX_TRAININGS:
        raise Refusal("training_id", "max_trainings", f"at most {MAX_TRAININGS} trainings")
    if not cmd.title.strip():
        raise Refusal("title", "required", "a training needs a title")
    if cmd.end_ms <= cmd.start_ms:
        raise Refusal("end_ms", "after_start", "the session must end after it starts")
    if cmd.end_ms - cmd.start_ms > MAX_TRAINING_DAYS * DAY_MS:
        raise Refusal("end_ms", "range", f"a session spans at most {MAX_TRAINING_DAYS} days")
    if cmd.end_ms <= ts:
        raise Refusal("end_ms", "in_future", "the session has already ended")
    if cmd.skill and occupations.from_legacy(cmd.skill) is None:
        raise Refusal("skill", "occupation_code_unknown", f"not in {occupations.CODE_LIST_VERSION}")
    ev = e.TrainingPublished(
        ts_ms=ts, training_id=cmd.training_id, station_id=cmd.station_id, region=st.region,
        title=cmd.title, description=cmd.description, skill=cmd.skill, start_ms=cmd.start_ms,
        end_ms=cmd.end_ms, capacity=cmd.capacity, address=cmd.address, staff_id=cmd.staff_id,
    )  # fmt: skip
    return Decided(facts=[ev])


def _training(state: State, training_id: str) -> Training:
    tr = state.training.trainings.get(training_id)
    if tr is None:
        raise Refusal("training_id", "exists", f"no training {c.clip(training_id)!r}")
    return tr


def _live_worker(state: State, worker_id: str) -> int:
    row = state.worker_rows.get(worker_id)
    if row is None:
        raise Refusal("worker_id", "exists", f"no worker {c.clip(worker_id)!r}")
    if not state.workers.active[row]:
        raise Refusal("worker_id", "erased", "this worker's data was erased")
    return row


def sign_up(state: State, cmd: c.SignUpTraining, ts: int) -> Decided:
    from engine.rules_common import Decided

    tr = _training(state, cmd.training_id)
    _live_worker(state, cmd.worker_id)
    if ts >= tr.end_ms:
        raise Refusal("training_id", "training_ended", "sign-ups closed: the session has ended")
    if cmd.worker_id in tr.signed:
        raise Refusal("worker_id", "already_signed_up", "this worker has signed up already")
    if len(tr.signed) >= tr.capacity:
        raise Refusal("training_id", "training_full", f"all {tr.capacity} places are taken")
    if state.training.signups >= MAX_SIGNUPS:
        raise Refusal("training_id", "max_signups", f"at most {MAX_SIGNUPS} sign-ups")
    ev = e.TrainingSignedUp(
        ts_ms=ts, training_id=cmd.training_id, worker_id=cmd.worker_id, channel=cmd.channel
    )
    return Decided(facts=[ev])


def complete(state: State, cmd: c.CompleteTraining, ts: int) -> Decided:
    from engine.rules_common import Decided

    tr = _training(state, cmd.training_id)
    done = tr.signed.get(cmd.worker_id)
    if done is None:
        raise Refusal("worker_id", "not_signed_up", "this worker has not signed up")
    if done:
        raise Refusal("worker_id", "already_completed", "completion is recorded already")
    if ts < tr.start_ms:
        raise Refusal("training_id", "training_not_started", "the session has not started")
    ev = e.TrainingCompleted(
        ts_ms=ts, training_id=cmd.training_id, worker_id=cmd.worker_id, staff_id=cmd.staff_id
    )
    return Decided(facts=[ev])


def publish_answer(state: State, cmd: c.PublishPolicyAnswer, ts: int) -> Decided:
    from engine.rules_common import Decided

    st = _approved_station(state, cmd.station_id)
    book = state.training
    if cmd.entry_id in book.entries:
        raise Refusal("entry_id", "unique", "an entry with this id exists")
    if len(book.entries) >= MAX_POLICY_ENTRIES:
        raise Refusal("entry_id", "max_policy_entries", f"at most {MAX_POLICY_ENTRIES} entries")
    for name in ("topic", "question", "answer"):
        if not getattr(cmd, name).strip():
            raise Refusal(name, "required", f"a policy entry needs a {name}")
    ev = e.PolicyAnswerPublished(
        ts_ms=ts, entry_id=cmd.entry_id, station_id=cmd.station_id, region=st.region,
        topic=cmd.topic, question=cmd.question, answer=cmd.answer, staff_id=cmd.staff_id,
    )  # fmt: skip
    return Decided(facts=[ev])


# ------------------------------------------------------------------ fold ------------


def fold_published(state: State, ev: e.TrainingPublished) -> None:
    from engine.state import LEAVE_TRAINING

    state.training.trainings[ev.training_id] = Training(
        station_id=ev.station_id, region=ev.region, title=ev.title, skill=ev.skill,
        address=ev.address, start_ms=ev.start_ms, end_ms=ev.end_ms, capacity=ev.capacity,
        signed={},
    )  # fmt: skip
    state.schedule_leave(ev.end_ms + TRAINING_KEEP_MS, LEAVE_TRAINING, ev.training_id)


def leave(state: State, training_id: str, ts_ms: int) -> None:
    """The session leaves with its sign-ups, unless it is not due yet (a session published
    again under the id of one that left has its own, later, entry)."""
    book = state.training
    tr = book.trainings.get(training_id)
    if tr is None or tr.end_ms + TRAINING_KEEP_MS > ts_ms:
        return
    del book.trainings[training_id]
    book.signups -= len(tr.signed)


def fold_signed_up(state: State, ev: e.TrainingSignedUp) -> None:
    state.training.trainings[ev.training_id].signed[ev.worker_id] = False
    state.training.signups += 1


def fold_completed(state: State, ev: e.TrainingCompleted) -> None:
    tr = state.training.trainings[ev.training_id]
    if ev.worker_id not in tr.signed:
        raise KeyError(ev.worker_id)
    tr.signed[ev.worker_id] = True


def fold_answer(state: State, ev: e.PolicyAnswerPublished) -> None:
    state.training.entries[ev.entry_id] = PolicyEntry(
        station_id=ev.station_id, region=ev.region, topic=ev.topic, question=ev.question,
        answer=ev.answer, ts_ms=ev.ts_ms,
    )  # fmt: skip


FOLDS: dict[type, Any] = {
    e.TrainingPublished: fold_published,
    e.TrainingSignedUp: fold_signed_up,
    e.TrainingCompleted: fold_completed,
    e.PolicyAnswerPublished: fold_answer,
}

# ------------------------------------------------------------------ scope -----------


def scope_publish(state: State, caller: Caller, cmd: Any) -> None:
    """PublishTraining / PublishPolicyAnswer: at a station of the caller (staff: theirs)."""
    from engine import authz as a

    a._station(state, caller, cmd.station_id)
    a._at_station(caller, cmd.station_id, "station_id")
    a._actor(caller, cmd.staff_id)


def _training_scope(state: State, caller: Caller, training_id: str) -> Training:
    from engine import authz as a

    tr = state.training.trainings.get(training_id)
    a._in_region(caller, None if tr is None else tr.region, "training_id", "training", training_id)
    assert tr is not None
    return tr


def scope_sign_up(state: State, caller: Caller, cmd: c.SignUpTraining) -> None:
    from engine import authz as a

    tr = _training_scope(state, caller, cmd.training_id)
    a._worker(state, caller, cmd.worker_id)
    a._at_station(caller, tr.station_id, "training_id")  # the counter of the host station
    expected = CHANNEL_OF_ROLE.get(caller.role)
    if expected is not None and cmd.channel != expected:
        raise Refusal("channel", "channel", f"a {caller.role} caller signs up by {expected!r}")


def scope_complete(state: State, caller: Caller, cmd: c.CompleteTraining) -> None:
    from engine import authz as a

    tr = _training_scope(state, caller, cmd.training_id)
    a._at_station(caller, tr.station_id, "training_id")
    a._actor(caller, cmd.staff_id)
