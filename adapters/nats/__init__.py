"""NATS adapters: JetStream event log, event publisher, micro service, SMS pusher.

Modules:
- `conn`: an asyncio loop on its own thread and NATS connection options (the engine is
  synchronous; every NATS call runs on that loop).
- `jslog`: `JetStreamLog`, the `EventLog` on the JetStream stream `LINGONG_LOG`.
- `lease`: partition ownership through a JetStream key-value bucket with a TTL.
- `cloudevents`: subjects, CloudEvents binary-mode headers, the id -> region map.
- `publisher`: every fact and decision to `LINGONG_EVT` and per-worker push subjects.
- `micro`: the `nats.micro` service for the commands and queries of front ends.
- `sms`, `sms_text`: the SMS pusher (an example subscriber) and its message texts.
- `bridge`: what `lingong serve --nats` wires; `engine_node`: an engine with NATS only.
- `demo`: the synthetic morning through the JetStream log and publisher.
- `cli`: the `sms-pusher`, `sms-reply` and `nats-engine` subcommands.
"""
