"""Live telemetry of a run over MQTT (docs/telemetry.md).

The loop's thread only builds small snapshots at the configured rates and offers them to a
bounded hand-off (``hil.telemetry.observer``); a publisher thread with its own asyncio event loop
encodes them as JSON and publishes them with aiomqtt (``hil.telemetry.publisher``), reconnecting
by itself. A full hand-off or an absent broker means counted drops, never a wait in the loop.
The publisher subscribes to nothing: nothing received over MQTT can command the rig. Only
``hil telemetry watch`` (``hil.telemetry.watch``) subscribes, and it only displays.

- ``topics``: the topics, their QoS and retain flags;
- ``snapshots``: what the loop's thread hands over, and each one's JSON payload;
- ``handoff``: the bounded queue between the two threads;
- ``observer``: the ``CycleObserver`` that builds the snapshots;
- ``connection``: broker address, credentials and TLS as aiomqtt client arguments;
- ``publisher``: the publisher thread (connect, publish, reconnect with backoff, stop);
- ``session``: one run's telemetry, started and stopped with the run (``hil.run.perform``);
- ``watch``: the subscriber behind ``hil telemetry watch``.
"""
