"""Test campaigns: campaign files, criteria over a run's measurements, the runner and its
results (``results.json``, ``junit.xml``). ``hil campaign run FILE`` (``hil.cli.campaign_cmd``);
the file format and the measurements are described in docs/campaigns.md.

- ``model``: the campaign file (``configs/campaigns/*.toml``), validated one line per problem;
- ``loader``: a campaign file with the rig, scenarios and recordings it names, resolved;
- ``measurements``: what a run measured, by name, unit and labels;
- ``criteria``: ``gospa_mean_m <= 60``, ``p95(latency_p99_ms) <= 5`` — parsing and verdicts;
- ``plan``: a campaign's cases expanded into runs (case × seed, or × recording);
- ``execute``: one run, recorded and measured (in a worker process or the main one);
- ``runner``: every run of a campaign, parallel where the mode allows, stoppable;
- ``progress``: the live table (or one line per run) while it runs;
- ``results``: ``results.json``, written at the end of a campaign and read back for the report;
- ``junit``: ``junit.xml``, the same verdicts for a CI;
- ``summary``: the lines the command ends with;
- ``report``: ``report.html`` from ``results.json`` and the recordings (``hil campaign report
  DIR``).
"""
