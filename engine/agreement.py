"""The agreement of a hire (签订协议) and the wage it promises (工资结算).

Owns: `agreed_total_fen` (what a hire is worth under its terms), `terms_of` (the terms
of a hire, built from its posting when the worker accepts), `terms_sha256` (the hash of
their canonical encoding that goes into the log) and `owed_fen`.

Invariants:
- Pure and deterministic: the same terms give the same bytes and the same hash on any
  machine (msgspec msgpack of a struct with fixed field order; floats as stored).
- A pay rate keeps its unit: a day rate is paid per local (Asia/Shanghai) day the hire
  spans, an hourly rate per hour of its window (never turned into a day rate), a piece
  rate per expected piece (0 when the posting states no count: then any payment settles).

Limits: none beyond the command bounds (`engine.bounds`): at most 7 days, 10^7 fen a unit,
10^6 pieces, so a total fits an int64.
"""

from __future__ import annotations

import hashlib

import msgspec

from engine.events import AgreementTerms
from engine.geo import local_day_number
from engine.state import Job

HOUR_MS = 3_600_000
_encoder = msgspec.msgpack.Encoder()


def agreed_total_fen(
    pay_fen: int, pay_unit: str, start_ms: int, end_ms: int, expected_pieces: int
) -> int:
    """The wage of the whole hire in fen (see the module header for each unit)."""
    if pay_unit == "day":
        days = local_day_number(end_ms - 1) - local_day_number(start_ms) + 1
        return pay_fen * max(1, days)
    if pay_unit == "hour":
        return pay_fen * (end_ms - start_ms) // HOUR_MS
    return pay_fen * expected_pieces


def terms_of(job: Job, hire_id: str, worker_id: str) -> AgreementTerms:
    return AgreementTerms(
        hire_id=hire_id,
        job_id=job.job_id,
        worker_id=worker_id,
        employer_id=job.employer_id,
        station_id=job.station_id,
        region=job.region,
        title=job.title,
        duties=job.description,
        address=job.address,
        lat=job.lat,
        lng=job.lng,
        pay_fen=job.pay_fen,
        pay_unit=job.pay_unit,  # type: ignore[arg-type]
        expected_pieces=job.expected_pieces,
        agreed_total_fen=agreed_total_fen(
            job.pay_fen, job.pay_unit, job.start_ms, job.end_ms, job.expected_pieces
        ),
        start_ms=job.start_ms,
        end_ms=job.end_ms,
        insurance_payer=job.insurance_payer,  # type: ignore[arg-type]
        insurance_policy_no=job.insurance_policy_no,
    )


def terms_sha256(terms: AgreementTerms) -> str:
    """sha256 (hex) of the canonical msgpack encoding of the terms."""
    return hashlib.sha256(_encoder.encode(terms)).hexdigest()


def owed_fen(agreed_fen: int) -> int:
    """What settles a hire: the agreed total, or any payment when none was stated."""
    return max(agreed_fen, 1)
