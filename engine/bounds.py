"""Bounds of every inbound value, declared once as msgspec constraints.

Owns: the annotated types that command fields (`engine.commands`) and policy fields
(`engine.events.Policy`, `Weights`) are declared with, and the limits they carry. The
HTTP/NATS bodies are derived from the command fields, so these are the only bounds.

Invariants:
- Every integer and float an outside caller can send is bounded here: nothing reaches the
  core that could overflow an int64/float64 column, be NaN or infinite, or make it do
  unbounded work. Every string has a maximum length; ids, regions and skill codes have a
  pattern. Times lie within [2000-01-01, 2100-01-01) UTC.
- Bounds are checked when a value is decoded (`engine.commands.admit`, the log decoder)
  and when the core validates a command built in-process (`engine.commands.check`).
- Semantic and cross-field rules (start before end, a station that exists, a policy's
  radius within its reach) are not here but in `engine.rules*` and `engine.policy`.

Limits: records in the log are decoded with the same types, so a bound may be widened
freely but narrowed only together with an upcaster for older records.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"
OPT_ID_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9_.:/-]*)?$"
REGION_PATTERN = r"^[1-9][0-9]{5}$"
REGION_PREFIX_PATTERN = r"^([1-9][0-9]([0-9]{2}([0-9]{2})?)?)?$"
SKILL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,31}$"

MAX_ID = 64  # characters of an id (worker, job, station, ...)
MAX_COMMAND_ID = 128  # "<caller namespace>:<client key>"
MAX_DERIVED_ID = 2 * MAX_ID + 8  # offer ids JOB/WAVE/WORKER and hire ids JOB/WORKER
MAX_NAME = 50  # a person's name
MAX_TITLE = 100  # station and employer names, job titles
MAX_SHORT = 200  # reasons, addresses, policy notes
MAX_NOTE = 500  # review and resolution notes, station status reasons
MAX_TEXT = 2000  # descriptions, complaint text
MAX_CONTACT = 20  # a mobile or ID number as typed (spaces, +86)
MAX_USCC = 18
MAX_SKILLS = 16  # skills per worker
MAX_POLICY_SKILLS = 64  # entries of Policy.local_day_pay_fen
MAX_HEADCOUNT = 500
MAX_PAY_FEN = 10_000_000  # 100,000 yuan per unit
MAX_AREA_M2 = 10_000_000
MAX_RADIUS_M = 100_000  # the spatial index's largest query radius
MIN_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
MAX_BIRTH_YEAR = 2100
MAX_PIECES = 1_000_000  # expected pieces of a piece-rate posting

Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
OptId = Annotated[str, Meta(max_length=MAX_ID, pattern=OPT_ID_PATTERN)]
CommandId = Annotated[str, Meta(min_length=1, max_length=MAX_COMMAND_ID, pattern=ID_PATTERN)]
DerivedId = Annotated[str, Meta(min_length=1, max_length=MAX_DERIVED_ID, pattern=ID_PATTERN)]
Region = Annotated[str, Meta(pattern=REGION_PATTERN)]
RegionPrefix = Annotated[str, Meta(pattern=REGION_PREFIX_PATTERN)]
Skill = Annotated[str, Meta(min_length=1, max_length=32, pattern=SKILL_PATTERN)]
Skills = Annotated[tuple[Skill, ...], Meta(min_length=1, max_length=MAX_SKILLS)]
Name = Annotated[str, Meta(max_length=MAX_NAME)]
Title = Annotated[str, Meta(max_length=MAX_TITLE)]
Short = Annotated[str, Meta(max_length=MAX_SHORT)]
Note = Annotated[str, Meta(max_length=MAX_NOTE)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Reason = Annotated[str, Meta(min_length=1, max_length=MAX_SHORT)]
Contact = Annotated[str, Meta(max_length=MAX_CONTACT)]
Uscc = Annotated[str, Meta(max_length=MAX_USCC)]
Fen = Annotated[int, Meta(ge=1, le=MAX_PAY_FEN)]
Fen0 = Annotated[int, Meta(ge=0, le=MAX_PAY_FEN)]
Ms = Annotated[int, Meta(ge=MIN_MS, lt=MAX_MS)]
OptMs = Annotated[int, Meta(ge=0, lt=MAX_MS)]  # 0: a default chosen by the rules
Minute = Annotated[int, Meta(ge=0, le=1439)]  # local minute of the day
Headcount = Annotated[int, Meta(ge=1, le=MAX_HEADCOUNT)]
Stars = Annotated[int, Meta(ge=1, le=5)]
Pieces = Annotated[int, Meta(ge=0, le=MAX_PIECES)]  # 0: not stated
BirthYear = Annotated[int, Meta(ge=0, le=MAX_BIRTH_YEAR)]  # 0: from the ID number
AreaM2 = Annotated[int, Meta(ge=0, le=MAX_AREA_M2)]
MAX_TRAINING_CAPACITY = 1000  # sign-ups of one training session
OptSkill = Annotated[str, Meta(max_length=32, pattern=r"^([a-z0-9][a-z0-9_.-]{0,31})?$")]
Capacity = Annotated[int, Meta(ge=1, le=MAX_TRAINING_CAPACITY)]
# a public service number (服务热线): digits with +, -, spaces or parentheses; a mobile
# is refused by the free-text screen like anywhere else (it would be a person's number)
Hotline = Annotated[str, Meta(max_length=MAX_CONTACT, pattern=r"^([0-9+() -]{3,20})?$")]
StaffCount = Annotated[int, Meta(ge=0, le=10_000)]
Days = Annotated[int, Meta(ge=1, le=365)]
Actor = Annotated[str, Meta(max_length=MAX_COMMAND_ID)]  # an account id, from the caller
Lat = Annotated[float, Meta(ge=-90.0, le=90.0)]
Lng = Annotated[float, Meta(ge=-180.0, le=180.0)]
