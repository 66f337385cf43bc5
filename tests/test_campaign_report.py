"""The campaign report: ``report.html`` rendered from a hand-written ``results.json`` over real
``sim`` recordings — verdict table, a failing criterion's measured value and limit, its replay
command, EMULATED, one image per plot, text where a recording is missing — and opened in
headless Chromium, which must draw the table and every image with no console error (a
screenshot is kept under runs/ci-artefacts/). ``hil campaign report DIR`` and its exit codes."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cdp_pipe import HeadlessChromium
from cli_support import hil
from conftest import CONFIGS, REPO
from debian_tools import require_tool

from hil.campaign.report import ResultsError, render
from hil.campaign.report.trace import read_trace
from hil.cli import main
from hil.recording.reader import FOOTER

pytestmark = pytest.mark.xdist_group("test_campaign_report")
"""One worker for the whole file (``make pytest`` runs ``--dist loadgroup``): its tests share
a module-scoped fixture, which each worker would otherwise make again."""

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"
ARTEFACTS = REPO / "runs" / "ci-artefacts"
RUN_PLOTS = ("plan", "error", "latency", "timeline")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sim_run(folder: Path, name: str, seed: int) -> dict[str, Any]:
    """A 5 s armed sim run recorded as ``recordings/<name>-seed<seed>.mcap``: its summary."""
    recording = folder / "recordings" / f"{name}-seed{seed}.mcap"
    done = hil(
        "run", "--rig", str(SIM_RIG), "--scenario", str(SCENARIO), "--duration", "5",
        "--seed", str(seed), "--arm", "--record", str(recording), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def criterion(
    measurement: str, comparator: str, limit: Any, unit: str, measured: Any,
    statistic: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A criterion row as ``hil campaign run`` writes it (numbers, or words for a state)."""
    passed = {
        "<=": measured is not None and measured <= limit,
        ">=": measured is not None and measured >= limit,
        "==": measured == limit,
    }[comparator]
    shown = f'"{limit}"' if isinstance(limit, str) else f"{limit:g}"
    text = f"{measurement} {comparator} {shown}"
    if statistic == "fraction_passing":
        text = f"fraction_passing {comparator} {shown}"
    elif statistic is not None:
        text = f"{statistic}({measurement}) {comparator} {shown}"
    return {
        "text": text,
        "measurement": measurement, "labels": {}, "statistic": statistic,
        "comparator": comparator, "limit": limit, "unit": unit, "measured": measured,
        "verdict": "pass" if passed else "fail",
    }  # fmt: skip


def run_entry(
    folder: Path, name: str, seed: int, summary: dict[str, Any], criteria: list[dict[str, Any]]
) -> dict[str, Any]:
    recording = f"recordings/{name}-seed{seed}.mcap"
    keys = ("gospa_mean_m", "launches", "latency_p99_ms", "frames")
    return {
        "seed": seed,
        "verdict": "pass" if all(c["verdict"] == "pass" for c in criteria) else "fail",
        "wall_s": 1.5,
        "recording": recording,
        "replay_command": f"hil replay {folder / recording} --compare",
        "error": None,
        "measurements": {key: summary[key] for key in keys},
        "criteria": criteria,
        "summary": summary,
    }


def case_entry(name: str, mode: str, runs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    failed = any(r["verdict"] != "pass" for r in runs) or any(
        c["verdict"] != "pass" for c in extra.get("criteria", [])
    )
    return {
        "name": name, "description": f"the {name} case", "mode": mode, "emulated": False,
        "scenario": str(SCENARIO), "duration_s": 5.0, "armed": True, "faults": [],
        "verdict": "fail" if failed else "pass", "criteria": [], "runs": runs,
    } | extra  # fmt: skip


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder over three real sim recordings: ``tracking`` (one run, its GOSPA
    criterion deliberately failing), ``fallback`` (a bench case that fell back to emulation),
    ``sweep`` (two seeds, a distribution criterion) and ``lost`` (its recording is missing)."""
    folder = tmp_path_factory.mktemp("campaign") / "20261126T130000Z-report-test"
    s1, s2, s3 = (sim_run(folder, name, seed) for name, seed in
                  (("tracking", 1), ("fallback", 2), ("sweep", 3)))  # fmt: skip
    shutil.copy(
        folder / "recordings" / "sweep-seed3.mcap", folder / "recordings" / "sweep-seed4.mcap"
    )
    tracking = run_entry(folder, "tracking", 1, s1, [
        criterion("launches", ">=", 1, "", s1["launches"]),
        criterion("gospa_mean_m", "<=", 0.5, "m", s1["gospa_mean_m"]),  # fails on purpose
        criterion("rig_final_state", "==", "SAFE", "state", s1["rig_final_state"]),
    ])  # fmt: skip
    fallback = run_entry(
        folder, "fallback", 2, s2, [criterion("frames", ">=", 1, "", s2["frames"])]
    )
    sweep_runs = [
        run_entry(folder, "sweep", seed, s3, [criterion("frames", ">=", limit, "", s3["frames"])])
        for seed, limit in ((3, 1), (4, 10**6))  # seed 4 fails: it is the one plotted
    ]
    lost = run_entry(folder, "lost", 5, s3, [criterion("frames", ">=", 1, "", s3["frames"])])
    garbled = run_entry(folder, "garbled", 6, s3, [criterion("frames", ">=", 1, "", s3["frames"])])
    (folder / "recordings" / "garbled-seed6.mcap").write_bytes(b"not a recording at all")
    garbled |= {"verdict": "error", "error": "the run stopped: radar link lost"}
    results = {
        "schema": "hil-campaign-results/1",
        "campaign": {"name": "report-test", "file": "/abs/report-test.toml",
                     "description": "hand-written results over sim recordings",
                     "rig": str(SIM_RIG)},
        "started_utc": "2026-11-26T13:00:00Z", "finished_utc": "2026-11-26T13:00:09Z",
        "wall_s": 9.0, "interrupted": False, "verdict": "fail",
        "environment": {"software_version": "0.1.0", "git_commit": None, "python": "3.11.7",
                        "host": "test", "platform": "Linux", "icd": {"radar": "1.1", "plc": "1.1"}},
        "cases": [
            case_entry("tracking", "sim", [tracking]),
            case_entry("fallback", "bench", [fallback], emulated=True),
            case_entry("sweep", "sim", sweep_runs, criteria=[
                criterion("gospa_mean_m", "<=", 1000, "m", s3["gospa_mean_m"], "mean"),
                # seed 4 failed: half the runs passed (no per-run value, so no histogram)
                criterion("fraction_passing", ">=", 0.95, "fraction", 0.5, "fraction_passing"),
            ]),
            case_entry("lost", "sim", [lost]),
            case_entry("garbled", "sim", [garbled], verdict="error"),
        ],
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    return folder


class Node:
    """An HTML element: tag, attributes, and its content in order (elements and text)."""

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs = tag, attrs
        self.content: list[Node | str] = []

    @property
    def children(self) -> list[Node]:
        return [c for c in self.content if isinstance(c, Node)]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        """Descendants with ``tag`` and these attribute values (``class_`` for ``class``)."""
        found = []
        for child in self.children:
            if child.tag == tag and all(
                child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()
            ):
                found.append(child)
            found += child.find_all(tag, **attrs)
        return found


class TreeBuilder(HTMLParser):
    VOID = frozenset({"img", "meta", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].content.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(path: Path) -> Node:
    builder = TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def failure_blocks(failures: Node, heading: str) -> list[Node]:
    """The failure entries whose heading starts with ``heading``."""
    blocks = failures.find_all("div", class_="failure")
    return [b for b in blocks if b.find_all("h3")[0].text().startswith(heading)]


@pytest.fixture(scope="module")
def report(campaign: Path) -> Path:
    return render(campaign)


def test_the_report_has_the_verdict_table_and_the_failed_criterion_with_its_replay_command(
    campaign: Path, report: Path
) -> None:
    assert report == campaign.resolve() / "report.html"
    page = parse(report)
    (verdict,) = [n for n in page.find_all("div", id="verdict")]
    assert verdict.text() == "FAIL"
    (table,) = page.find_all("table", id="verdicts")
    rows = {(r.attrs["data-case"], r.attrs["data-seed"]): r for r in table.find_all("tr")
            if "data-case" in r.attrs}  # fmt: skip
    assert set(rows) == {("tracking", "1"), ("fallback", "2"), ("sweep", "3"), ("sweep", "4"),
                         ("lost", "5"), ("garbled", "6")}  # fmt: skip
    results = json.loads((campaign / "results.json").read_text())
    failing = results["cases"][0]["runs"][0]["criteria"][1]
    measured = f"{failing['measured']:.6g}"
    tracking_row = rows[("tracking", "1")].text()
    assert "FAIL" in tracking_row
    assert f"gospa_mean_m <= 0.5: measured {measured} m, limit ≤ 0.5 m FAIL" in tracking_row
    (failures,) = page.find_all("div", id="failures")
    listed = failures.text()
    assert f"measured {measured} m, limit ≤ 0.5 m" in listed
    assert "launches >= 1" not in listed  # the criterion that passed is not a failure
    (tracking,) = failure_blocks(failures, "tracking (seed 1)")
    (command,) = tracking.find_all("pre", class_="replay")
    assert command.text() == f"hil replay {campaign / 'recordings/tracking-seed1.mcap'} --compare"
    assert "run error: the run stopped: radar link lost" in listed
    assert 'rig_final_state == "SAFE": measured SAFE, limit = SAFE PASS' in tracking_row
    (sweep_failure,) = failure_blocks(failures, "sweep (sweep, seed 4)")
    assert "fraction_passing >= 0.95: measured 0.5, limit ≥ 0.95 FAIL" in sweep_failure.text()
    (command,) = sweep_failure.find_all("pre", class_="replay")
    assert command.text().endswith("recordings/sweep-seed4.mcap --compare")
    (sweep,) = page.find_all("table", id="sweep")
    assert "mean(gospa_mean_m) <= 1000: measured" in sweep.text() and "PASS" in sweep.text()


def test_an_emulated_bench_case_is_marked_emulated_everywhere(report: Path) -> None:
    page = parse(report)
    (table,) = page.find_all("table", id="verdicts")
    (row,) = [r for r in table.find_all("tr") if r.attrs.get("data-case") == "fallback"]
    assert "EMULATED" in row.text()
    assert [n.text() for n in row.find_all("span", class_="emulated")] == ["EMULATED"]
    (banner,) = page.find_all("div", class_="banner")
    assert banner.text().startswith("EMULATED: fallback")
    (section,) = page.find_all("section", id="case-fallback")
    assert "EMULATED" in section.text()
    others = [r for r in table.find_all("tr") if r.attrs.get("data-case") not in ("fallback", None)]
    assert all("EMULATED" not in r.text() for r in others)


def test_every_case_has_its_plots_inline_and_a_missing_recording_says_so(report: Path) -> None:
    page = parse(report)
    expected = {
        "tracking": list(RUN_PLOTS),
        "fallback": list(RUN_PLOTS),
        "sweep": [*RUN_PLOTS, "sweep"],  # one histogram per sweep criterion
        "lost": [],
        "garbled": [],
    }
    for case, plots in expected.items():
        (section,) = page.find_all("section", id=f"case-{case}")
        images = section.find_all("img")
        assert [i.attrs["data-plot"] for i in images] == plots, case
        for image in images:
            head, _, data = image.attrs["src"].partition(",")
            assert head == "data:image/png;base64"
            assert base64.b64decode(data).startswith(PNG_MAGIC)
    (lost,) = page.find_all("section", id="case-lost")
    assert "its recording" in lost.text() and "is missing, so no plots" in lost.text()
    (garbled,) = page.find_all("section", id="case-garbled")
    assert "not an MCAP recording" in garbled.text() and "so no plots" in garbled.text()
    (sweep,) = page.find_all("section", id="case-sweep")
    assert "Plotted run: seed 4 (the first failing run)" in sweep.text()
    # self-contained: nothing but inline images is referenced
    assert not page.find_all("script") and not page.find_all("link")


def test_hil_campaign_report_rewrites_the_report_and_exits_0(campaign: Path, report: Path) -> None:
    report.unlink()
    done = hil("campaign", "report", str(campaign))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report: {report}"
    assert parse(report).find_all("table", id="verdicts")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no results.json in this folder"),
        ("{not json", "results.json: not valid JSON"),
        ('{"schema": "other/1"}', "results.json: schema: schema 'other/1', this report reads"),
        ('{"schema": "hil-campaign-results/1", "campaign": {"name": "x"}, "verdict": "pass"}',
         "results.json: missing key 'cases'"),
        ('{"schema": "hil-campaign-results/1", "campaign": {"name": "x"}, "verdict": "pass", '
         '"cases": [{"name": "a", "mode": "lab", "runs": []}]}',
         "results.json: cases[0].mode: unknown mode 'lab' (allowed: bench, emulate, sim, replay)"),
        ('{"schema": "hil-campaign-results/1", "campaign": {"name": "x"}, "verdict": "pass", '
         '"cases": [{"name": "a", "mode": "sim", "runs": [{"verdict": "pass"}]}]}',
         "results.json: cases[0].runs[0]: missing key 'seed'"),
    ],
)  # fmt: skip
def test_a_bad_results_folder_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if content is not None:
        (tmp_path / "results.json").write_text(content)
    assert main(["campaign", "report", str(tmp_path)]) == 2  # in-process: cheap
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {tmp_path}") and problem in line, line
    assert not (tmp_path / "report.html").exists()


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = hil("campaign", "report", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert (
        line == f"error: {tmp_path / 'nowhere'}: not a folder; give the results folder of "
        "a campaign run (runs/<UTC stamp>-<campaign>/)"
    )
    with pytest.raises(ResultsError):
        render(tmp_path / "nowhere")


def open_in_chromium(
    page: Path, profile: Path
) -> tuple[dict[str, Any], list[str], list[str], bytes]:
    """Load ``page`` in headless Chromium: what the page shows (rows of the verdict table, the
    table's height, each image's plot kind, completeness and natural size), the console errors,
    the URLs it requested, and a full-page screenshot (PNG)."""
    with HeadlessChromium(require_tool("chromium"), profile) as browser:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable")
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.call("Page.navigate", {"url": page.as_uri()})
        browser.wait_event("Page.loadEventFired")
        seen = browser.evaluate(
            "({rows: document.querySelectorAll('#verdicts tr.run').length,"
            " tableHeight: document.getElementById('verdicts')?.getBoundingClientRect().height,"
            " images: [...document.images].map(i => [i.dataset.plot, i.complete,"
            " i.naturalWidth, i.naturalHeight])})"
        )
        screenshot = browser.call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        return (
            seen,
            browser.console_errors(),
            browser.requested_urls(),
            base64.b64decode(screenshot["data"]),
        )


def test_chromium_renders_the_table_and_every_plot_with_no_console_error(
    report: Path, tmp_path: Path
) -> None:
    expected_images = len(parse(report).find_all("img"))
    seen, errors, urls, png = open_in_chromium(report, tmp_path / "profile")
    assert seen["rows"] == 6 and seen["tableHeight"] > 100
    assert len(seen["images"]) == expected_images == 4 + 4 + 5
    broken = [image for image in seen["images"] if not (image[1] and image[2] > 0 and image[3] > 0)]
    assert not broken, f"images not drawn: {broken}"
    assert errors == []
    assert all(url == report.as_uri() or url.startswith("data:") for url in urls), urls
    assert png.startswith(PNG_MAGIC)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "report.png").write_bytes(png)


def test_the_browser_check_sees_a_broken_image_a_console_error_and_a_fetch(tmp_path: Path) -> None:
    """The check above can fail: the same probe on a page with a broken inline image, a
    console error and an external image reports all three."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<html><body><img data-plot="plan" src="data:image/png;base64,AAAA">'
        '<img data-plot="error" src="elsewhere.png"><script>console.error("boom")</script>'
        "</body></html>"
    )
    seen, errors, urls, _ = open_in_chromium(page, tmp_path / "profile")
    assert [image[2] for image in seen["images"]] == [0, 0]
    assert "boom" in errors and any("elsewhere.png" in e for e in errors)
    assert (tmp_path / "elsewhere.png").as_uri() in urls


def test_an_unfinished_recording_is_plotted_and_the_note_says_so(
    campaign: Path, tmp_path: Path
) -> None:
    """A run killed before its recorder closed: every chunk is there, the summary is not."""
    whole = (campaign / "recordings" / "tracking-seed1.mcap").read_bytes()
    _, _, summary_start, _, _ = FOOTER.unpack(whole[-8 - FOOTER.size : -8])
    folder = tmp_path / "results"
    (folder / "recordings").mkdir(parents=True)
    (folder / "recordings" / "cut-seed1.mcap").write_bytes(whole[:summary_start])
    results = json.loads((campaign / "results.json").read_text())
    case = results["cases"][0] | {"name": "cut"}
    case["runs"] = [case["runs"][0] | {"recording": "recordings/cut-seed1.mcap"}]
    (folder / "results.json").write_text(json.dumps(results | {"cases": [case]}))
    (section,) = parse(render(folder)).find_all("section", id="case-cut")
    assert [i.attrs["data-plot"] for i in section.find_all("img")] == list(RUN_PLOTS)
    assert "its recording is unfinished (the run was killed?)" in section.text()


def test_a_recorded_run_gives_the_plots_their_tracks_and_errors(campaign: Path) -> None:
    """The plot data of a real recording: every truth has a path, confirmed tracks were
    sampled from the cycle outputs (a bulk topic, in chunks of their own) and the position
    error has values where a truth was tracked."""
    trace = read_trace(campaign / "recordings" / "tracking-seed1.mcap")
    assert trace.truths and trace.tracks
    assert max(len(samples) for samples in trace.tracks.values()) > 100  # of ~500 cycles
    assert np.isfinite(trace.error_m).any()
    assert len(trace.latency_ms) > 0
