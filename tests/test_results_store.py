"""The results store (issue 23, §1 and §4) against real databases: a SQLite file in the test's
tmp_path and a real PostgreSQL server the tests start themselves (``tests/postgres.py``), each
test in its own database. Two writers at once, a writer killed with SIGKILL inside its
transaction (held there by the store's test hook, so the kill is certainly mid-write), the
migration from revision 0001 with data in it, a newer schema refused, idempotent import,
``hil results list|show`` as an operator runs them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import hil
from mosquitto import free_port
from results_folders import new_id, sweep_document, write_folder
from sqlalchemy import func, inspect, select, text

from hil.history import schema
from hil.history.ingest import HOLD_VARIABLE, campaign_rows, write_campaign, write_rows
from hil.history.location import StoreError, choose_location
from hil.history.queries import campaign_detail, campaigns, resolve_id, samples
from hil.history.store import HEAD_REVISION, head_revision, make_engine, migrate, open_store

HOLDING = "holding the transaction"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store of each kind: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'results.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def counts(url: str) -> dict[str, int]:
    """Rows per table of the store at ``url``."""
    with open_store(choose_location(url)) as store, store.transaction("count") as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (schema.campaigns, schema.runs, schema.measurements, schema.cases)
        }


def holding_import(folder: Path, url: str) -> subprocess.Popen[str]:
    """``hil results import FOLDER`` held inside its transaction after the runs' rows (the
    store's test hook): returns once it says so on stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hil", "results", "import", str(folder), "--store", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, HOLD_VARIABLE: "1"},
    )
    assert process.stderr is not None
    said = process.stderr.readline()  # blocks until the hook speaks (or the process ends)
    if HOLDING not in said:
        process.kill()
        out, err = process.communicate(timeout=30)
        pytest.fail(f"the import did not hold: {said}{err}{out}")
    return process


def release(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate("\n", timeout=60)
    return process.returncode, out, err


def test_two_campaigns_written_at_once_are_both_stored(tmp_path: Path, store_url: str) -> None:
    first = write_folder(tmp_path / "a", sweep_document("alpha", runs=20, campaign_id=new_id()))
    second = write_folder(tmp_path / "b", sweep_document("beta", runs=30, campaign_id=new_id()))
    holder = holding_import(first, store_url)  # inside its transaction, the runs written
    other = subprocess.Popen(
        [sys.executable, "-m", "hil", "results", "import", str(second), "--store", store_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, HOLD_VARIABLE: "1"},
        stdin=subprocess.PIPE,
    )
    assert other.stderr is not None
    if store_url.startswith("postgresql"):
        # PostgreSQL: the second writer gets as far while the first still holds its transaction
        assert HOLDING in other.stderr.readline()
        code, _, err = release(holder)
    else:
        # SQLite: one writer at a time (BEGIN IMMEDIATE); the second waits for the first's lock
        code, _, err = release(holder)
        assert HOLDING in other.stderr.readline()
    assert code == 0, err
    code, out, err = release(other)
    assert code == 0, err
    assert "stored as" in out
    assert counts(store_url) == {"campaigns": 2, "runs": 50, "measurements": 50 * 31, "cases": 2}


def test_a_writer_killed_mid_transaction_leaves_nothing_and_import_completes(
    tmp_path: Path, store_url: str
) -> None:
    folder = write_folder(tmp_path / "a", sweep_document("alpha", runs=40, campaign_id=new_id()))
    writer = holding_import(folder, store_url)  # the campaign and run rows are written
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert counts(store_url) == {"campaigns": 0, "runs": 0, "measurements": 0, "cases": 0}
    done = hil("results", "import", str(folder), "--store", store_url)
    assert done.returncode == 0, done.stderr
    assert counts(store_url) == {"campaigns": 1, "runs": 40, "measurements": 40 * 31, "cases": 1}


def test_a_store_made_by_revision_0001_is_migrated_on_first_use_and_keeps_its_data(
    tmp_path: Path, store_url: str
) -> None:
    location = choose_location(store_url)
    old = write_folder(tmp_path / "old", sweep_document("alpha", runs=3, campaign_id=new_id()))
    engine = make_engine(location)
    try:
        with engine.begin() as connection:
            migrate(connection, location, target="0001")
            tables = set(connection.dialect.get_table_names(connection))
            assert "preflight_rows" not in tables  # truly the older schema
        # data written by a hil of revision 0001's time (its tables only)
        from hil.history.store import Store

        write_rows(Store(location, engine), campaign_rows(old))
    finally:
        engine.dispose()
    with open_store(location) as store:
        with store.transaction("read") as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                head_revision()
            )
        [kept] = campaigns(store)
        assert kept.name == "alpha"
        assert len(samples(store, [kept.campaign_id], "gospa_mean_m")) == 3
        document = sweep_document("beta", runs=2, campaign_id=new_id())
        document["preflight"] = {
            "verdict": "green", "refused_bench_runs": False, "refusal": None, "ignored": [],
            "ignored_red": [], "error": None,
            "report": {"rig": "bench", "mode": "bench", "seconds": 1.0, "verdict": "green",
                       "emulated": [], "notes": [],
                       "rows": [{"name": "radar.icd_version", "verdict": "green",
                                 "value": "1.1", "measured": "1.1", "unit": "", "limit": "1.1",
                                 "action": None}]},
        }  # fmt: skip
        write_campaign(store, write_folder(tmp_path / "new", document))
        with store.transaction("read") as connection:
            rows = connection.execute(select(schema.preflight_rows)).all()
        assert [(row.name, row.measured_text) for row in rows] == [("radar.icd_version", "1.1")]


def test_a_store_newer_than_the_package_is_refused_with_one_line(
    tmp_path: Path, store_url: str
) -> None:
    location = choose_location(store_url)
    with open_store(location) as store, store.transaction("stamp") as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError) as refused:
        open_store(location)
    message = str(refused.value)
    assert "\n" not in message
    assert location.shown() in message and "9999" in message
    assert "upgrade hil-testbed" in message
    done = hil("results", "list", "--store", store_url)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {message}"]


def test_import_is_idempotent_and_names_a_folder_that_is_not_results(
    tmp_path: Path, store_url: str
) -> None:
    old = write_folder(tmp_path / "old", sweep_document("alpha", runs=4, seed=1))  # no id
    new = write_folder(
        tmp_path / "new",
        sweep_document("beta", runs=3, campaign_id=new_id(), started_utc="2026-12-02T08:00:00Z"),
    )
    not_results = tmp_path / "empty"
    not_results.mkdir()
    done = hil("results", "import", str(old), str(not_results), str(new), "--store", store_url)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {not_results}: no results.json in this folder; give the results folder of a "
        "campaign run (runs/<UTC stamp>-<campaign>/)"
    ]
    assert done.stdout.count("stored as") == 2
    again = hil("results", "import", str(old), str(new), "--store", store_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("stored already as") == 2
    assert counts(store_url) == {"campaigns": 2, "runs": 7, "measurements": 7 * 31, "cases": 2}
    with open_store(choose_location(store_url)) as store:
        alpha, beta = campaigns(store)  # newest last
        assert (alpha.name, beta.name) == ("alpha", "beta")
        assert len(alpha.campaign_id) == 64  # an old folder's id: the SHA-256 of its results.json
        assert alpha.rig_fingerprint == beta.rig_fingerprint  # the same rig file
        assert [c.name for c in campaigns(store, last=1)] == ["beta"]
        assert [c.name for c in campaigns(store, name="alpha")] == ["alpha"]
        assert campaigns(store, before=beta.started_utc) == [alpha]
        assert campaigns(store, comparable_to=("d" * 64, beta.rig_fingerprint)) == [beta]
        gospa = samples(store, [beta.campaign_id, alpha.campaign_id], "gospa_mean_m")
        assert [(s.campaign_id, s.seed) for s in gospa] == [
            *((beta.campaign_id, seed) for seed in (1, 2, 3)),
            *((alpha.campaign_id, seed) for seed in (1, 2, 3, 4)),
        ]
        assert {s.unit for s in gospa} == {"m"}
        assert len(samples(store, [beta.campaign_id], case="sweep")) == 3 * 30  # numbers only


def test_list_and_show_print_what_is_stored(tmp_path: Path) -> None:
    """The CLI's output (one store kind: the commands read it through the same queries; each
    command is a child process of ~3 s, hil's start-up)."""
    url = str(tmp_path / "results.db")
    with open_store(choose_location(url)) as store:
        for name, day in (("alpha", "01"), ("beta", "02")):
            document = sweep_document(
                name, runs=3, campaign_id=new_id(), started_utc=f"2026-12-{day}T08:00:00Z"
            )
            write_campaign(store, write_folder(tmp_path / name, document))
    listed = json.loads(hil("results", "list", "--json", "--store", url).stdout)
    assert [row["name"] for row in listed] == ["alpha", "beta"]  # newest last
    alpha, beta = listed
    assert alpha["started_utc"] == "2026-12-01T08:00:00Z" and alpha["verdict"] == "pass"
    text_list = hil("results", "list", "--campaign", "alpha", "--store", url)
    assert text_list.returncode == 0
    heading, row = text_list.stdout.strip().splitlines()
    assert heading.split() == ["ID", "STARTED", "(UTC)", "CAMPAIGN", "VERDICT", "RIG", "SOFTWARE"]
    assert row.split() == [
        alpha["id"][:12], "2026-12-01T08:00:00Z", "alpha", "pass", alpha["rig_fingerprint"][:8],
        "0.1.0",
    ]  # fmt: skip
    shown = json.loads(hil("results", "show", beta["id"][:8], "--json", "--store", url).stdout)
    assert shown["id"] == beta["id"] and shown["campaign_digest"] == "d" * 64
    [case] = shown["cases"]
    assert [run["seed"] for run in case["runs"]] == [1, 2, 3]
    gospa = case["runs"][0]["measurements"]["gospa_mean_m"]
    assert gospa["unit"] == "m" and gospa["comparator"] == "<=" and gospa["outcome"] == "pass"
    assert case["runs"][0]["measurements"]["rig_final_state"]["text_value"] == "SAFE"
    assert case["runs"][0]["measurements"]["rig_final_state"]["comparator"] is None
    assert shown["rig_document"]["plc"]["transport"] == "tcp"
    assert "tracker" not in shown["rig_document"] and "tracker" in shown["effective_config"]
    text_show = hil("results", "show", beta["id"][:8], "--store", url)
    assert text_show.returncode == 0
    assert f"campaign beta {beta['id']}: PASS" in text_show.stdout
    assert "case sweep (sim): PASS — 3 runs: 3 pass" in text_show.stdout
    assert "PASS  mean(gospa_mean_m) <= 1000 (measured 50)" in text_show.stdout
    with open_store(choose_location(url)) as store, pytest.raises(StoreError) as missing:
        resolve_id(store, "zzz")
    assert "no campaign 'zzz'" in str(missing.value)
    nowhere = tmp_path / "none.db"
    listed_nowhere = hil("results", "list", "--store", str(nowhere))
    assert listed_nowhere.returncode == 2
    assert listed_nowhere.stderr.startswith(f"error: no results store at {nowhere} ")
    assert not nowhere.exists()  # reading a store never makes one


def test_a_sqlite_store_locked_past_its_timeout_is_one_line_in_bounded_time(
    tmp_path: Path,
) -> None:
    location = choose_location(str(tmp_path / "results.db"))
    open_store(location).close()
    holder = sqlite3.connect(tmp_path / "results.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError) as locked:
            open_store(location, busy_timeout_s=0.2)
    finally:
        holder.close()
    assert "locked (still locked after 0.2 s)" in str(locked.value)
    assert "\n" not in str(locked.value)


def tiny_campaign(folder: Path) -> Path:
    """A campaign of one sim case, two seeds of 2 s (a ~5 s ``hil campaign run``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.toml"
    path.write_text(
        f"""[campaign]
name = "tiny"
rig = "{CONFIGS / "rigs" / "sim.toml"}"

[[cases]]
name = "sim-sweep"
mode = "sim"
scenario = "{CONFIGS / "scenarios" / "defended-site.toml"}"
duration_s = 2.0
seeds = 2
criteria = ["gospa_mean_m <= 1000"]
sweep_criteria = ["mean(gospa_mean_m) <= 1000"]
""",
        encoding="utf-8",
    )
    return path


def test_campaign_run_writes_its_campaign_to_the_store(tmp_path: Path, postgres_url: str) -> None:
    campaign = tiny_campaign(tmp_path)
    done = hil(
        "campaign", "run", str(campaign), "--out", str(tmp_path / "runs"), "--jobs", "2",
        "--store", postgres_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = postgres_url.replace("postgresql://", "postgresql+psycopg://")
    [line] = [line for line in done.stdout.splitlines() if "results store" in line]
    assert line.startswith(f"stored in the results store {shown} as ")
    [folder] = (tmp_path / "runs").iterdir()
    document = json.loads((folder / "results.json").read_text())
    assert line.endswith(document["campaign"]["id"])
    assert document["campaign"]["digest"] == hashlib.sha256(campaign.read_bytes()).hexdigest()
    with open_store(choose_location(postgres_url)) as store:
        [stored] = campaigns(store)
        assert stored.campaign_id == document["campaign"]["id"]
        assert stored.campaign_digest == document["campaign"]["digest"]
        assert stored.results_folder == str(folder.resolve())
        assert len(samples(store, [stored.campaign_id], "gospa_mean_m")) == 2
        detail = campaign_detail(store, stored.campaign_id)
    assert detail["source_digest"] == document["environment"]["source_digest"]
    assert len(detail["source_digest"]) == 16
    assert detail["effective_config"]["rig"]["name"] == "sim"
    runs = [run for case in detail["cases"] for run in case["runs"]]
    assert len(runs) == 2
    for run in runs:  # each run's recording and its time span, read from its summary
        assert run["recording"] and Path(run["recording"]).is_file()
        assert 1.5 <= run["recording_end_s"] - run["recording_start_s"] <= 3.0  # a 2 s run


def test_an_unreachable_store_is_one_warning_and_leaves_the_verdict(tmp_path: Path) -> None:
    campaign = tiny_campaign(tmp_path)
    closed = f"postgresql://hil@127.0.0.1:{free_port()}/results"  # nothing listens there
    done = hil(
        "campaign", "run", str(campaign), "--out", str(tmp_path / "runs"), "--jobs", "2",
        "--store", closed, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["verdict"] == "pass"
    [folder] = (tmp_path / "runs").iterdir()
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "warning: results not stored and no history read: results store postgresql"
    )
    assert warnings[0].endswith(f"add them later: hil results import {folder}")
    assert not (tmp_path / "runs" / "results.db").exists()


def test_no_store_writes_nowhere(tmp_path: Path) -> None:
    campaign = tiny_campaign(tmp_path)
    named = tmp_path / "named.db"  # what HIL_RESULTS_STORE would have used
    done = hil(
        "campaign", "run", str(campaign), "--out", str(tmp_path / "runs"), "--jobs", "2",
        "--no-store", env={"HIL_RESULTS_STORE": str(named)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "results store" not in done.stdout + done.stderr
    assert not named.exists()


def test_the_migrations_make_the_tables_the_code_reads(tmp_path: Path, store_url: str) -> None:
    """``hil.history.schema`` and the Alembic revisions describe the same tables, columns,
    primary keys and indexes."""
    with open_store(choose_location(store_url)) as store:
        found = inspect(store.engine)
        assert set(found.get_table_names()) == {*schema.metadata.tables, "alembic_version"}
        for name, table in schema.metadata.tables.items():
            assert [c["name"] for c in found.get_columns(name)] == [c.name for c in table.c]
            assert [c["nullable"] for c in found.get_columns(name)] == [
                c.nullable for c in table.c
            ], name
            primary = found.get_pk_constraint(name)["constrained_columns"]
            assert primary == [c.name for c in table.primary_key.columns], name
            indexes = {i["name"]: i["column_names"] for i in found.get_indexes(name)}
            assert indexes == {i.name: [c.name for c in i.columns] for i in table.indexes}, name


def test_the_revision_opened_without_alembic_is_alembics_head() -> None:
    """``open_store`` skips loading Alembic for a store stamped ``HEAD_REVISION``: that must be
    the newest migration, or a store one migration behind would never be upgraded."""
    assert head_revision() == HEAD_REVISION
