"""Cell result files: a partial, corrupt, stale or malformed file is detected, never read as valid."""

from __future__ import annotations

import json
import os
import stat

import pytest

from benchmarks.leaderboard.results import (
    ResultFileError,
    atomic_write_bytes,
    canonical,
    read_cell,
    sha256_text,
    write_cell,
)

SPEC = {"row": {"entry": "random"}, "seed": 0, "attack": "random", "eps": 0.01}
RECORD = {
    "mode": "sampled",
    "attack": "random",
    "eps": 0.01,
    "applicable": True,
    "return_mean": 4.5,
    "ctr": 0.2,
    "episodes": 4,
    "eval_returns": [4.5],
    "episode_returns": [3, 6, 4, 5],
}
PAYLOAD = {"records": [RECORD], "adversary": None, "wall_s": 1.5, "artifact_sha256": None, "model_commit": "abc"}


@pytest.fixture()
def cell(tmp_path):
    path = tmp_path / "cell.json"
    write_cell(path, "eval", SPEC, PAYLOAD)
    return path


def test_round_trip_and_no_temporary_files_left(cell):
    doc = read_cell(cell, "eval", SPEC)
    assert doc["payload"] == PAYLOAD
    assert doc["provenance"]["commit"]
    assert [p.name for p in cell.parent.iterdir()] == ["cell.json"]


def test_written_files_get_ordinary_permissions(tmp_path):
    # a temporary file is owner-only (0o600); the results people share must not stay that way
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "board.md", b"# board\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "board.md").stat().st_mode) == 0o644


def test_a_truncated_file_is_partial(cell):
    text = cell.read_text()
    cell.write_text(text[: len(text) // 2])
    with pytest.raises(ResultFileError) as err:
        read_cell(cell, "eval", SPEC)
    assert err.value.reason == "partial"


def test_a_changed_number_fails_the_checksum(cell):
    doc = json.loads(cell.read_text())
    doc["payload"]["records"][0]["return_mean"] = 9.5
    cell.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError, match="checksum") as err:
        read_cell(cell, "eval", SPEC)
    assert err.value.reason == "corrupt"


def test_a_file_for_another_config_is_stale(cell):
    other = {**SPEC, "eps": 0.02}
    with pytest.raises(ResultFileError, match=r"spec\.eps: file has 0\.01, config has 0\.02") as err:
        read_cell(cell, "eval", other)
    assert err.value.reason == "stale"


def test_a_consistent_file_with_a_malformed_payload_is_invalid(tmp_path):
    # a file whose checksum is right but whose record lacks its return: written by something else
    path = tmp_path / "cell.json"
    bad_record = {k: v for k, v in RECORD.items() if k != "return_mean"}
    doc = {
        "schema": "advrec-leaderboard-cell/1",
        "kind": "eval",
        "spec": SPEC,
        "payload": {**PAYLOAD, "records": [bad_record]},
    }
    doc["spec_hash"] = sha256_text(canonical(SPEC))
    doc["provenance"] = {"commit": "x", "host": "h", "date": "d"}
    doc["checksum"] = sha256_text(canonical(doc))
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError, match="return_mean") as err:
        read_cell(path, "eval", SPEC)
    assert err.value.reason == "invalid"


def test_wrong_schema_or_kind_is_invalid(cell):
    with pytest.raises(ResultFileError, match="kind") as err:
        read_cell(cell, "train", SPEC)
    assert err.value.reason == "invalid"
    cell.write_text(json.dumps({"schema": "something-else/9"}))
    with pytest.raises(ResultFileError, match="schema"):
        read_cell(cell, "eval", SPEC)


def test_writing_refuses_non_finite_numbers(tmp_path):
    with pytest.raises(ResultFileError, match="finite"):
        write_cell(tmp_path / "c.json", "eval", SPEC, {**PAYLOAD, "records": [{**RECORD, "return_mean": float("nan")}]})
    assert not (tmp_path / "c.json").exists()


def test_per_episode_returns_must_match_the_episode_count_and_the_code_commit_is_recorded(tmp_path, cell):
    doc = read_cell(cell, "eval", SPEC)
    # the code commit a board must share (a 40-hex commit, +dirty on an edited tree; "unknown" outside git)
    code = doc["provenance"]["code_commit"]
    assert code == "unknown" or len(code.removesuffix("+dirty")) == 40
    with pytest.raises(ResultFileError, match="3 episode returns for 4 episodes"):
        write_cell(
            tmp_path / "c.json", "eval", SPEC, {**PAYLOAD, "records": [{**RECORD, "episode_returns": [1, 2, 3]}]}
        )
    with pytest.raises(ResultFileError, match="model_commit"):
        write_cell(tmp_path / "c.json", "eval", SPEC, {k: v for k, v in PAYLOAD.items() if k != "model_commit"})
    assert not (tmp_path / "c.json").exists()


def test_a_missing_file_is_missing_not_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_cell(tmp_path / "absent.json", "eval", SPEC)
