"""Who sends each command in a simulated market (the demo, benchmarks and tests).

Owns: `caller_for(state, cmd)`, the natural caller of a command when no transport has
authenticated anyone: the runtime (`SYSTEM`) for `Advance`, the collecting station's
staff for `ReviewJob`, the answering station's staff for `ChangeComplaintStatus`, a
nationwide administrator (`OPERATOR`) for everything else.

Invariants: every simulated command still passes the engine's authorisation
(`engine.authz.authorize`); nothing here bypasses it, it only names the caller a real
deployment would have had. Transports never use this module: they build their `Caller`
from a verified credential.

Limits: one station look-up per `ReviewJob`, one complaint and one station look-up per
`ChangeComplaintStatus`.
"""

from __future__ import annotations

from engine import commands as c
from engine.authz import SYSTEM, Caller
from engine.state import State

OPERATOR = Caller(actor_id="sim-operator", role="admin", nationwide=True)


def caller_for(state: State, cmd: c.Command) -> Caller:
    if isinstance(cmd, c.Advance):
        return SYSTEM
    if isinstance(cmd, c.ReviewJob):
        station = state.stations.get(cmd.station_id)
        return Caller(
            actor_id=cmd.staff_id,
            role="station_staff",
            region=station.region if station is not None else "11",
            station_id=cmd.station_id,
        )
    if isinstance(cmd, c.ChangeComplaintStatus):  # the staff of the answering station
        comp = state.complaints.get(cmd.complaint_id)
        station = None if comp is None else state.stations.get(comp.station_id)
        if station is not None:
            return Caller(
                actor_id=f"staff-{station.station_id}",
                role="station_staff",
                region=station.region,
                station_id=station.station_id,
            )
    return OPERATOR
