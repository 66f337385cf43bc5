"""One run of the fire-control loop, as ``hil run``, a campaign or a test performs it.

- ``perform``: ``perform_run`` (the rig built by its mode, telemetry, the loop, faults beside
  it), ``StopSwitch`` (a signal ends it cleanly), ``RunResult``;
- ``recorder``: ``RunRecorder``, the observer that writes a run's recording
  (``hil.recording.run_layout``);
- ``recorded``: a run with its recording opened, finished and closed; with signal handling;
- ``summary``: a run's summary, one JSON-ready dict and its text rendering;
- ``live_status``: the one-line live status of a run on a terminal;
- ``runs_folder``: where recordings go by default (``runs/``, ``$HIL_RUNS_DIR``).

What the loop talks to is ``hil.rig``'s; the settings of a run are ``hil.rig.base.RunSettings``.
"""
