"""The HTTP API for regional front ends, station staff, auditors and the station board.

Owns: nothing itself; see `app` (assembly, `create_app`), `auth` and `tokens` (who may do
what), `problems` (RFC 9457 errors), `context` (commands and queries through the engine
service), `scope` (the region/station index), the route modules (`routes_*`, `board`),
`metrics` and `logs`, and `cli` (`lingong token ...`).

Invariants: the API reaches the engine only through `adapters.shell.service.EngineService`;
responses, logs and metric labels never carry unmasked personal data, except the one
route that reveals an employer's contact to the worker of a confirmed hire.
Limits: see `adapters.http.auth.Limits`.
"""
