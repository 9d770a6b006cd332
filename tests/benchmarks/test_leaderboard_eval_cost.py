"""The leaderboard's cost benchmark: the projection adds up the protocol's cells, and a short run writes its table."""

import json

import pytest

from benchmarks import leaderboard_eval_cost
from benchmarks.leaderboard.protocol import full


def test_the_projection_adds_every_eval_cell_of_a_ppo_row_seed():
    config = full("inf")
    measured = [
        {"slots": 100, "attack": "none", "cpu_s_per_episode": 0.01},
        {"slots": 100, "attack": "fgsm", "cpu_s_per_episode": 0.02},
        {"slots": 100, "attack": "learned", "cpu_s_per_episode": 0.01, "adversary_cpu_s": 100.0},
        {"slots": 32, "attack": "query", "cpu_s_per_episode": 9.0},  # other slots: not this projection's
    ]
    plan = leaderboard_eval_cost.project(measured, config, slots=100)
    assert plan["episodes_per_cell"] == 500
    assert plan["cells_per_row_seed"]["fgsm"] == 3 and plan["cells_per_row_seed"]["learned"] == 1
    # every episode is played in both modes (sampled, greedy); the adversary is trained once a cell
    assert plan["modes"] == ["sampled", "greedy"]
    expected_s = 1000 * 0.01 + 3 * 1000 * 0.02 + (1000 * 0.01 + 100.0)
    assert plan["eval_core_hours_per_ppo_row_seed"] == pytest.approx(expected_s / 3600, abs=0.005)
    assert plan["ppo_row_seeds"] == 140  # 14 PPO rows x 10 training seeds
    assert "query" in plan["attacks_not_measured"] and "fgsm" not in plan["attacks_not_measured"]


@pytest.mark.slow
def test_a_short_run_times_each_attack_and_writes_its_table(tmp_path):
    out = tmp_path / "cost.json"
    doc = leaderboard_eval_cost.main(["--episodes", "4", "--slots", "4", "--attacks", "fgsm", "--out", str(out)])
    stored = json.loads(out.read_text())
    assert [r["attack"] for r in stored["rows"]] == ["none", "fgsm"]
    assert all(r["cpu_s"] > 0 and r["mean_length"] >= 1 for r in stored["rows"])
    assert stored["provenance"]["command"].endswith("--out " + str(out))
    assert doc["projection"]["attacks_not_measured"]  # only two of the suite were timed
    # the projection is recomputed from the stored rows alone, stamped apart; the measurement is kept
    again = leaderboard_eval_cost.main(["--reproject", "--out", str(out)])
    assert again["rows"] == stored["rows"] and again["provenance"] == stored["provenance"]
    assert again["projection"] == doc["projection"] and "projection_provenance" in json.loads(out.read_text())
    with pytest.raises(SystemExit, match="not a stored measurement"):
        leaderboard_eval_cost.main(["--reproject", "--out", str(tmp_path / "absent.json")])


def test_bad_settings_are_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit):
        leaderboard_eval_cost.main(["--episodes", "0", "--out", str(tmp_path / "x.json")])
    assert "--episodes" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
