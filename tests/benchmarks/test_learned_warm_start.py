"""benchmarks/learned_warm_start.py: a short run scores each fitted warm start both ways, against the
references, and writes its stamped JSON; bad variants and a missing run are refused before any work."""

from __future__ import annotations

import argparse
import json

import pytest

from benchmarks import learned_warm_start


@pytest.mark.slow
def test_a_short_run_scores_every_variant_both_ways_and_writes_its_json(tiny_ppo_run, tmp_path):
    out = tmp_path / "ws.json"
    argv = ["--run", str(tiny_ppo_run), "--out", str(out), "--episodes", "2", "--variants", "8-8x1x32", "16x2x48"]
    doc = learned_warm_start.main(argv)
    stored = json.loads(out.read_text())
    assert stored == json.loads(json.dumps(doc))
    assert set(stored["references"]) == {"none", *learned_warm_start.REFERENCES}
    assert [(r["net"], r["epochs"], r["states"]) for r in stored["rows"]] == [([8, 8], 1, 32), ([16], 2, 48)]
    for row in stored["rows"]:
        assert row["loss"] == row["loss"]  # a number, not NaN: the fit ran
        assert row["clip_deploy"] >= 0 and row["tanh_deploy"] >= 0
    assert stored["provenance"]["command"].endswith("--variants 8-8x1x32 16x2x48")
    assert "deployed" in learned_warm_start.table(stored)


@pytest.mark.parametrize("text", ["64-64x5", "axbxc", "64x0x10", "64-0x5x10"])
def test_a_bad_variant_is_named(text):
    with pytest.raises(argparse.ArgumentTypeError, match="variant"):
        learned_warm_start.parse_variant(text)


def test_a_good_variant_is_parsed():
    assert learned_warm_start.parse_variant("64-64x5x8192") == {"net": [64, 64], "epochs": 5, "states": 8192}


def test_a_missing_run_is_named_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "ws.json"
    with pytest.raises(SystemExit):
        learned_warm_start.main(["--run", str(tmp_path / "nothing"), "--out", str(out)])
    assert "no trained run" in capsys.readouterr().err
    assert not out.exists()
