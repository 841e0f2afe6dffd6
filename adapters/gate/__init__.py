"""The inbound gate: one path from any way in (HTTP, NATS micro, the CLI) to the engine.

Modules: `routes` (THE route table), `bodies` (request bodies derived from the commands),
`gate` (`Gate.admit`: size, depth, content type, strict decode, server time, command ids,
static role check) and `tokens` (bearer tokens -> the engine's `Caller`). Transports
authenticate, call `Gate.admit`, then submit the command with its caller
(`EngineService.aexecute(cmd, caller)`); region and station scope are checked by
`engine.authz.authorize` on the writer thread against the real state (fail closed).
"""
