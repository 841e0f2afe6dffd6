"""THE route table: one entry per command a caller may send, for every way in.

Owns: `Route` (method, HTTP path template, command class, which command fields come from
the path, which from the caller, which stay at their defaults, status, summary, tag) and
`ROUTES`, the table itself. The HTTP handlers (`adapters.http.commands`), the NATS micro
endpoints (`lingong.api.<partition>.cmd.<Type>`, `adapters.nats.micro`), the OpenAPI
request bodies and the operators' CLI (`lingong station`, `lingong policy`) are all made
from it; request bodies are derived from the command (`adapters.gate.bodies`).

Invariants (pinned by tests/gate/test_routes.py): every command type of
`engine.commands.COMMAND_TYPES` has exactly one route or is in `INTERNAL`; every type has
a row in `PERMISSIONS`; path, caller and hidden fields are fields of the command; a
caller field is never in a body (ReviewJob.staff_id/station_id and the `by` account of a
station's life step come from the token); a `named` route (ReviewJob, the steps of a
station's life) is refused to a token not issued to a person.
Limits: none; the table is static.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine import commands as c

INTERNAL = frozenset({"Advance"})  # time passes only by the runtime's own clock
NATS_PREFIX = "lingong.api"
_PARAM = re.compile(r"\{([a-z_]+)\}")
CALLER_ATTRS = frozenset({"actor_id", "station_id", "region"})


@dataclass(frozen=True)
class Route:
    command: type[c.Command]
    method: str
    path: str  # "/workers/{worker_id}/check-in"
    summary: str
    tag: str
    status: int = 201
    caller_fields: tuple[tuple[str, str], ...] = ()  # (command field, Caller attribute)
    hidden: tuple[str, ...] = ()  # fields no caller sets (left at their defaults)
    named: bool = False  # only a person's named account may send it (a review verdict)
    path_fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_fields", tuple(_PARAM.findall(self.path)))

    @property
    def name(self) -> str:
        return self.command.__name__

    @property
    def litestar_path(self) -> str:
        return _PARAM.sub(r"{\1:str}", self.path)

    def nats_subject(self, partition: str) -> str:
        return f"{NATS_PREFIX}.{partition}.cmd.{self.name}"


R = Route
ROUTES: tuple[Route, ...] = (
    # registry
    R(c.RegisterWorker, "POST", "/workers", "Register a worker", "registry",
      caller_fields=(("station_id", "station_id"),)),  # staff register at their station
    R(c.UpdateWorker, "PATCH", "/workers/{worker_id}", "Update a worker", "registry", 200),
    R(c.EraseWorker, "POST", "/workers/{worker_id}/erasure",
      "Erase a worker (PIPL art. 47: crypto-shredding of the personal data, with a reason)",
      "registry", 200),
    R(c.RegisterEmployer, "POST", "/employers", "Register an employer", "registry"),
    R(c.FlagEmployer, "POST", "/employers/{employer_id}/flags", "Flag an employer", "registry",
      caller_fields=(("staff_id", "actor_id"),)),
    R(c.RegisterStation, "POST", "/stations", "Register a station", "stations"),
    R(c.ChangeStationStatus, "POST", "/stations/{station_id}/status",
      "Approve, suspend or revoke a station", "stations"),
    # a station's life (engine.station_life): each step by the caller's own account
    R(c.ApplyStation, "POST", "/stations/applications",
      "Apply for a station (申报) with its materials; checked against the region's conditions",
      "stations", caller_fields=(("by", "actor_id"),)),
    R(c.ReviewStation, "POST", "/stations/{station_id}/review",
      "Review an application (审核): passes only if every condition is met", "stations", 200,
      caller_fields=(("by", "actor_id"),), named=True),
    R(c.ApproveStation, "POST", "/stations/{station_id}/approval",
      "Approve a reviewed station (批准), by another account", "stations", 200,
      caller_fields=(("by", "actor_id"),), named=True),
    R(c.FileStation, "POST", "/stations/{station_id}/filing",
      "File an approved station (备案), by a third account", "stations", 200,
      caller_fields=(("by", "actor_id"),), named=True),
    R(c.OrderRectification, "POST", "/stations/{station_id}/rectification-order",
      "Order a rectification within a deadline (限期整改); missed, the station is revoked",
      "stations", 200, caller_fields=(("by", "actor_id"),), named=True),
    R(c.ConfirmRectification, "POST", "/stations/{station_id}/rectification",
      "Confirm the rectification (整改到位), by another account than the order's", "stations",
      200, caller_fields=(("by", "actor_id"),), named=True),
    R(c.RevokeStation, "POST", "/stations/{station_id}/revocation",
      "Revoke a station (撤销): the stations below and their postings as the policy says",
      "stations", 200, caller_fields=(("by", "actor_id"),), named=True),
    R(c.SetPolicy, "POST", "/policies", "Set the policy of a region prefix", "registry"),
    # the morning
    R(c.CheckIn, "POST", "/workers/{worker_id}/check-in",
      "Check a worker in at a station or a location", "morning"),
    R(c.CheckOut, "POST", "/workers/{worker_id}/check-out", "Check out", "morning"),
    R(c.SubmitJob, "POST", "/jobs", "Post a job (collected by a station)", "morning"),
    R(c.ReviewJob, "POST", "/jobs/{job_id}/review",
      "Approve or reject a held posting (collecting station only)", "morning",
      caller_fields=(("staff_id", "actor_id"), ("station_id", "station_id")), named=True),
    R(c.CancelJob, "POST", "/jobs/{job_id}/cancel", "Cancel a posting", "morning"),
    R(c.RingBell, "POST", "/stations/{station_id}/bell",
      "Ring the opening bell: batch-match the station's waiting workers and jobs", "morning",
      caller_fields=(("staff_id", "actor_id"),), hidden=("region",)),
    # offers and hires
    R(c.AcceptOffer, "POST", "/workers/{worker_id}/offers/{offer_id}/accept",
      "Accept an offer", "offers"),
    R(c.DeclineOffer, "POST", "/workers/{worker_id}/offers/{offer_id}/decline",
      "Decline an offer", "offers"),
    R(c.ConfirmArrival, "POST", "/hires/{hire_id}/arrival",
      "Confirm the worker arrived (到岗)", "hires"),
    R(c.ReportNoShow, "POST", "/hires/{hire_id}/no-show", "Report a no-show", "hires"),
    R(c.CompleteWork, "POST", "/hires/{hire_id}/completion",
      "Confirm the work was completed", "hires"),
    R(c.PayWage, "POST", "/hires/{hire_id}/wage", "Record a wage payment", "hires"),
    R(c.Rate, "POST", "/hires/{hire_id}/rating", "Rate the other side of a hire", "hires"),
    # complaints
    R(c.FileComplaint, "POST", "/complaints", "File a complaint about a hire", "complaints"),
    R(c.ResolveComplaint, "POST", "/complaints/{complaint_id}/resolution",
      "Resolve a complaint", "complaints"),
    R(c.ChangeComplaintStatus, "POST", "/complaints/{complaint_id}/status",
      "Move a complaint case on (accepted, investigating, resolved, rejected) with a note "
      "told to the complainant", "complaints", caller_fields=(("staff_id", "actor_id"),)),
    # training and consultation (培训报名、政策咨询)
    R(c.PublishTraining, "POST", "/stations/{station_id}/trainings",
      "Publish a training session of a station (培训)", "training",
      caller_fields=(("staff_id", "actor_id"),)),
    R(c.SignUpTraining, "POST", "/trainings/{training_id}/sign-ups",
      "Sign a worker up: counter (staff), app (front end) or SMS (gateway)", "training"),
    R(c.CompleteTraining, "POST", "/trainings/{training_id}/completions",
      "Record that a signed-up worker completed the session", "training",
      caller_fields=(("staff_id", "actor_id"),)),
    R(c.PublishPolicyAnswer, "POST", "/stations/{station_id}/policy-qa",
      "Publish a policy Q&A entry of a station (政策咨询)", "training",
      caller_fields=(("staff_id", "actor_id"),)),
)  # fmt: skip

BY_NAME: dict[str, Route] = {r.name: r for r in ROUTES}


def route_of(name: str) -> Route:
    """The route of a command type name; KeyError for internal or unknown types."""
    return BY_NAME[name]
