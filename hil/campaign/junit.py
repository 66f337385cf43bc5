"""``junit.xml`` from ``results.json``: what Jenkins and GitLab show for a campaign.

One ``<testsuite>`` per case (``<campaign>.<case>``); in it one ``<testcase>`` per run
(classname ``<campaign>.<case>``, name ``seed N``, `` [EMULATED]`` appended for a bench run on
emulators), with one ``<failure>`` per failed criterion (its message: the criterion, the measured
value and the limit), an ``<error>`` for a run that could not be performed or a measurement that
is missing, ``<skipped>`` for a run the campaign did not get to; a case's sweep criteria are
their own test case (``sweep of N runs``). Valid against the Jenkins xUnit plugin's
``junit-10.xsd`` (tests/data/junit-10.xsd).
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hil.campaign.criteria import format_limit, run_identity

JUNIT_FILE = "junit.xml"


def measured_text(row: Mapping[str, Any]) -> str:
    """``gospa_mean_m <= 60: measured 72.4 m, limit 60 m``."""
    unit = "" if row["unit"] in ("count", "state", "fraction") else f" {row['unit']}"
    measured = row["measured"]
    shown = "nothing" if measured is None else f"{format_limit(measured)}{unit}"
    return f"{row['text']}: measured {shown}, limit {format_limit(row['limit'])}{unit}"


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _testcase(suite: ET.Element, classname: str, name: str, wall_s: float) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", {"classname": classname, "name": name, "time": _seconds(wall_s)}
    )


def _criteria(case: ET.Element, rows: list[dict[str, Any]], replay: str | None) -> None:
    for row in rows:
        reproduce = row.get("replay_command") or replay  # a regression names its worst run
        hint = f"\nreproduce: {reproduce}" if reproduce else ""
        if row["verdict"] == "fail":
            message = measured_text(row)
            failure = ET.SubElement(case, "failure", {"type": "criterion", "message": message})
            failure.text = message + hint
        elif row["verdict"] == "error":
            message = f"{row['text']}: {row.get('reason', 'not measured')}"
            ET.SubElement(case, "error", {"type": "measurement", "message": message}).text = message


def run_name(run: Mapping[str, Any]) -> str:
    """``seed N`` (a replay run: ``FILE (seed N)``, or ``FILE`` if it could not be read), with
    `` [EMULATED]`` for a bench run on emulators."""
    return run_identity(run) + (" [EMULATED]" if run.get("emulated") else "")


def build(results: Mapping[str, Any]) -> ET.ElementTree:
    campaign = results["campaign"]["name"]
    root = ET.Element("testsuites", {"name": campaign, "time": _seconds(results["wall_s"])})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for case in results["cases"]:
        classname = f"{campaign}.{case['name']}"
        suite = ET.SubElement(root, "testsuite", {"name": classname})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        wall = 0.0
        for run in case["runs"]:
            element = _testcase(suite, classname, run_name(run), run["wall_s"])
            wall += run["wall_s"]
            counts["tests"] += 1
            verdict = run["verdict"]
            if verdict == "not_run":
                reason = run.get("error") or "the campaign was stopped before this run"
                ET.SubElement(element, "skipped", {"message": reason})
                counts["skipped"] += 1
                continue
            if run.get("error"):
                ET.SubElement(
                    element, "error", {"type": "run", "message": run["error"]}
                ).text = run["error"]
            _criteria(element, run["criteria"], run.get("replay_command"))
            counts["failures"] += verdict == "fail"
            counts["errors"] += verdict == "error"
            notes = run.get("notes") or []
            if notes:
                ET.SubElement(element, "system-out").text = "\n".join(notes)
        if case["criteria"]:
            ran = sum(r["verdict"] != "not_run" for r in case["runs"])
            element = _testcase(suite, classname, f"sweep of {ran} runs", 0.0)
            _criteria(element, case["criteria"], None)
            counts["tests"] += 1
            verdicts = {row["verdict"] for row in case["criteria"]}
            counts["failures"] += "fail" in verdicts
            counts["errors"] += "fail" not in verdicts and "error" in verdicts
        suite.attrib |= {key: str(value) for key, value in counts.items()}
        suite.attrib |= {
            "time": _seconds(wall),
            "timestamp": results["started_utc"].removesuffix("Z"),
            "hostname": results["environment"]["host"] or socket.gethostname(),
        }
        for key in totals:
            totals[key] += counts[key]
    root.attrib |= {key: str(value) for key, value in totals.items()}
    ET.indent(root)
    return ET.ElementTree(root)


def write(folder: Path, results: Mapping[str, Any]) -> Path:
    path = folder / JUNIT_FILE
    build(results).write(path, encoding="utf-8", xml_declaration=True)
    return path
