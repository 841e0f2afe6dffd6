"""NATS adapters: JetStream event log, event publisher, micro service, SMS pusher.

Modules:
- `conn`: an asyncio loop on its own thread and NATS connection options (the engine is
  synchronous; every NATS call runs on that loop).
- `frames`, `jslog`: `JetStreamLog`, the `EventLog` on the JetStream stream `LINGONG_LOG`
  (frames packed per append, chain in headers, guarded appends).
- `lease`: partition ownership through a JetStream KV lease with a TTL (standby takeover).
- `follow`: `LogFollower`, projections as durable consumers of a partition's log.
- `streams`: stream set-up and the batch pull reader shared by the others.
- `cloudevents`: subjects, CloudEvents binary-mode headers, the id -> region map.
- `publisher`: every fact and decision to `LINGONG_EVT` and per-worker push subjects.
- `micro`: the `nats.micro` service for the commands and queries of front ends.
- `sms`, `sms_text`, `sms_gateway`: the SMS pusher (an example subscriber), its texts and
  gateways.
- `bridge`: what `lingong serve --nats` wires; `engine_node`: an engine with NATS only.
- `demo`: the synthetic morning through the JetStream log and publisher.
- `cli`: the `sms-pusher`, `sms-reply` and `nats-engine` subcommands.
"""
