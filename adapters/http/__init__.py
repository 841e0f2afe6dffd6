"""The HTTP API for regional front ends, station staff, auditors and the station board.

Owns: nothing itself; see `app` (assembly, `create_app`), `commands` (the command
endpoints, one factory over the gate's route table), `auth` (callers, read scopes, rate
limits; tokens live in `adapters.gate.tokens`), `problems` (RFC 9457 errors), `context`
(commands through the gate, queries through the engine service), `scope` (the
region/station index of the reads and the board), the read modules (`routes_*`,
`board`, `map_page`: the public e-map), `assets` (vendored page and API-doc assets served
at /assets, and the /schema page: no CDN), `metrics` and `logs`, and `cli`
(`lingong token ...`).

Invariants: the API reaches the engine only through `adapters.shell.service.EngineService`,
and every command through `adapters.gate` (the same gate as NATS and the CLI);
responses, logs and metric labels never carry unmasked personal data, except the one
route that reveals an employer's contact to the worker of a confirmed hire.
Limits: see `adapters.http.auth.Limits`.
"""
