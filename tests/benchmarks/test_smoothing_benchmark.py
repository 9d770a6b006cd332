"""benchmarks/smoothing.py: sigma chosen on training users by the stated rule, both sigmas attacked on the
evaluation users, a rerun resumes, and settings that differ from the stored stage are refused.

One rollout (4,096 steps) of PPO on the default env is the run; everything else is a handful of episodes.
"""

from __future__ import annotations

import json

import pytest

from benchmarks import smoothing

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tiny_ppo_run):
    return tiny_ppo_run


def _args(run, out, *extra):
    return [
        "--run", f"tiny={run}", "--out", str(out), "--sigmas", "0", "0.01", "0.5",
        "--select-episodes", "4", "--episodes", "4", "--copies", "2", "--attacks", "fgsm", "--eot-copies", "3", "--eot-attack", "fgsm",
        "--clean-tolerance", "0.9", *extra,
    ]  # fmt: skip


def test_selects_on_training_users_attacks_both_and_resumes(run, tmp_path, stages_resume_and_refuse):
    out = tmp_path / "out"
    smoothing.main(_args(run, out))
    selected = json.loads((out / "select-tiny.json").read_text())
    grid = {g["sigma"]: g["return"] for g in selected["grid"]}
    assert sorted(grid) == [0.0, 0.01, 0.5] and selected["seeds"] == list(smoothing.TUNE_SEEDS)
    allowed = [s for s, r in grid.items() if r >= 0.1 * grid[0.0]]
    assert selected["sigma"] == max(allowed) > 0.0
    attacked = json.loads((out / "attacks-tiny.json").read_text())
    plain, smooth = attacked["by_sigma"]
    assert (plain["sigma"], smooth["sigma"]) == (0.0, selected["sigma"])
    assert [r["attack"] for r in plain["rows"]] == ["clean", "clean", "fgsm"]
    # the smoothed policy is attacked again through a 3-draw estimate (the EOT check)
    assert [r["attack"] for r in smooth["rows"]] == ["clean", "clean", "fgsm", "fgsm (EOT 3)"]
    assert all(r["episodes"] == 4 for r in plain["rows"] + smooth["rows"])
    text = (out / "report.md").read_text()
    assert "| tiny | 0 |" in text and f"-> sigma {selected['sigma']:g}" in text and "fgsm (EOT 3)" in text

    stages_resume_and_refuse(smoothing.main, out, _args(run, out), _args(run, out, "--copies", "3"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [("tiny", "NAME=DIR"), ("a/b=.", "letters, digits"), ("tiny=/no/such/run", "no run directory")],
)
def test_a_bad_run_is_named(tmp_path, capsys, spec, message):
    with pytest.raises(SystemExit):
        smoothing.main(["--run", spec, "--out", str(tmp_path)])
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
