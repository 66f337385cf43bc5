"""Where the results store is (``hil.history.location``) and what identifies a bench
(``hil.history.fingerprint``): the precedence ``--store``, ``HIL_RESULTS_STORE``, the rig file's
``[results]``, the default; the rig table's validation (no password in the file); the rig
fingerprint's indifference to the loop's tuning and sensitivity to the devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.config.loader import load_rig
from hil.errors import ConfigError
from hil.history.fingerprint import digest, rig_document
from hil.history.location import STORE_VARIABLE, StoreError, choose_location, parse_store_url

SIM_RIG = Path(__file__).resolve().parents[1] / "configs" / "rigs" / "sim.toml"
RESULTS = {"environment": {"icd": {"radar": "1.1", "plc": "1.1"}}, "cases": []}


def rig_file(tmp_path: Path, results: str) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text(SIM_RIG.read_text() + "\n[results]\n" + results)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rig(path, environ={})
    return caught.value.problems


def test_the_store_is_chosen_by_option_then_environment_then_rig_file_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rig_file(tmp_path, 'store = "postgresql://hil@db.lab/hil"\npassword_env = "PW"\n')
    table = load_rig(path, environ={}).results
    env = {STORE_VARIABLE: "sqlite:///env.db", "PW": "s3cret"}
    chosen = choose_location("postgres://a@h:5433/d", table, path, env)
    assert (chosen.source, str(chosen.url)) == ("--store", "postgresql+psycopg://a@h:5433/d")
    chosen = choose_location(None, table, path, env)
    assert (chosen.source, chosen.shown()) == (STORE_VARIABLE, "env.db")
    chosen = choose_location(None, table, path, {"PW": "s3cret"})
    assert chosen.url.password == "s3cret" and chosen.url.drivername == "postgresql+psycopg"
    assert chosen.shown() == "postgresql+psycopg://hil:***@db.lab/hil"
    monkeypatch.setenv("HIL_RUNS_DIR", str(tmp_path / "runs"))
    chosen = choose_location(None, None, None, {})
    assert (chosen.source, chosen.shown()) == ("the default", str(tmp_path / "runs" / "results.db"))


def test_a_relative_sqlite_store_in_the_rig_file_is_beside_it(tmp_path: Path) -> None:
    path = rig_file(tmp_path, 'store = "sqlite:///history/results.db"\n')
    chosen = choose_location(None, load_rig(path, environ={}).results, path, {})
    assert chosen.shown() == str(tmp_path / "history" / "results.db")


def test_a_missing_password_variable_is_one_line(tmp_path: Path) -> None:
    path = rig_file(tmp_path, 'store = "postgresql://hil@db.lab/hil"\npassword_env = "NOPE"\n')
    with pytest.raises(StoreError, match="password_env names NOPE, which is not set"):
        choose_location(None, load_rig(path, environ={}).results, path, {})


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('store = "postgresql://hil@db/hil"\npassword = "x"\n', "a password in the rig file"),
        ('store = "postgresql://hil:x@db/hil"\n', "the URL holds a password"),
        ('store = "mysql://db/hil"\n', "sqlite:// or postgresql://"),
        ('store = "postgresql://db"\n', "needs a host and a database"),
        ('store = "sqlite:///r.db"\npassword_env = "PW"\n', "SQLite store, which has none"),
        ('store = "sqlite:///r.db"\nhost = "x"\n', "unknown key"),
    ],
)
def test_a_bad_results_table_is_one_line_naming_the_key(
    tmp_path: Path, table: str, words: str
) -> None:
    path = rig_file(tmp_path, table)
    [line] = problems(path)
    assert line.startswith(f"{path}: results")
    assert words.lower() in line.lower()


@pytest.mark.parametrize("url", ["mysql://db/x", "sqlite://", "postgresql:///nohost"])
def test_a_bad_store_url_is_one_line(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        parse_store_url(url)
    assert "\n" not in str(caught.value) and "postgresql://" in str(caught.value)


def test_the_fingerprint_ignores_the_loops_tuning_and_follows_the_devices() -> None:
    base = load_rig(SIM_RIG, environ={})
    tuned = load_rig(
        SIM_RIG, ["tracker.confirm_hits=3", "fire_control.max_threat_range_m=9000"], environ={}
    )
    moved = load_rig(SIM_RIG, ["plc.host=10.0.0.9"], environ={})
    assert tuned.tracker != base.tracker  # the overrides took
    fingerprint = digest(rig_document(base, str(SIM_RIG), RESULTS))
    assert digest(rig_document(tuned, str(SIM_RIG), RESULTS)) == fingerprint
    assert digest(rig_document(moved, str(SIM_RIG), RESULTS)) != fingerprint
    emulated = {**RESULTS, "cases": [{"runs": [{"summary": {"emulated_devices": ["plc"]}}]}]}
    document = rig_document(base, str(SIM_RIG), emulated)
    assert document["emulated"] == ["plc"] and digest(document) != fingerprint
    newer_icd = {**RESULTS, "environment": {"icd": {"radar": "1.2", "plc": "1.1"}}}
    assert digest(rig_document(base, str(SIM_RIG), newer_icd)) != fingerprint
