"""The loop's arithmetic identity: which version of the core's arithmetic made a recording.

``CORE_VERSION`` names every bit the core (``hil.loop.core.LoopCore``: tracker, fire control)
computes from its inputs. The same version on the same inputs gives the same output bits, so
``hil replay --verify`` compares a recording cycle for cycle only when it was made by this
version; across versions it says so and points at ``--compare`` (score deltas) instead.

**Bump it in the same commit that changes any result bit** (a compiled kernel, a reordered
sum, a changed default), and re-record ``tests/data/golden-sim.mcap`` in that commit. Every run
recording's ``hil.run`` metadata names it (``core_version``); a recording without it was made
before the field existed, by version 1 (``hil.recording.run_layout.recorded_core_version``).

Versions: 1 — the numpy tracker (issue 11); 2 — the compiled tracker and sensor kernels and the
CPU-independent models (``sim.portable``) of issue 24.
"""

from __future__ import annotations

CORE_VERSION = 2
"""The core's arithmetic version written into every run recording (bump: see the module doc)."""
