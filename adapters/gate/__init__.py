"""The inbound gate: one path from any way in (HTTP, NATS micro, the CLI) to the engine.

Modules: `routes` (THE route table), `bodies` (request bodies derived from the commands),
`gate` (`Gate.admit`: size, depth, content type, strict decode, server time, command ids,
static role check), `tokens` (bearer tokens -> callers) and `a1_interface` (stand-ins for
the engine side until it lands). Transports authenticate, call `Gate.admit`, then submit
the command with its caller; region and station scope are checked by `authorize` on the
writer thread against the real state (fail closed).
"""
