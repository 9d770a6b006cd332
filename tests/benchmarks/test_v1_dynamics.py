"""benchmarks/v1_dynamics.py's PPO stage: a larger ``--ppo-steps`` continues a stored run instead of retraining it.

The grids and the reference rows are the committed ones (copied into a temporary ``--out``), so
only the PPO stage runs: one rollout (4,096 steps) of PPO on the default env, then one more.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import v1_dynamics

pytestmark = pytest.mark.slow

COMMITTED = Path(v1_dynamics.__file__).resolve().parent / "results" / "v1_dynamics"


def test_a_larger_ppo_steps_continues_the_stored_run(tmp_path):
    out = tmp_path / "v1"
    out.mkdir()
    for name in ("tuned", "references"):
        shutil.copy(COMMITTED / f"{name}.json", out)
    args = ["--out", str(out), "--ppo-seeds", "0", "--curve-every", "4096", "--attacks", "--no-progress"]

    v1_dynamics.main([*args, "--ppo-steps", "4096"])
    first = json.loads((out / "ppo-seed-0.json").read_text())
    v1_dynamics.main([*args, "--ppo-steps", "4096"])  # the stored stage is enough: nothing recomputed
    assert json.loads((out / "ppo-seed-0.json").read_text()) == first

    v1_dynamics.main([*args, "--ppo-steps", "8192"])
    second = json.loads((out / "ppo-seed-0.json").read_text())
    assert (first["settings"]["steps"], second["settings"]["steps"]) == (4096, 8192)
    assert [p["steps"] for p in second["curve"]] == [4096, 8192]
    assert second["curve"][0] == first["curve"][0]  # the first phase was kept, not trained again
    phases = sorted(p.name for p in (out / "runs" / "ppo-seed-0" / "checkpoints").iterdir())
    assert phases == ["phase-0000", "phase-0001"]
    assert "PPO (8,192 steps)" in (out / "report.md").read_text()

    with pytest.raises(SystemExit, match="must be a multiple of it"):
        v1_dynamics.main([*args, "--ppo-steps", "10000"])
    assert json.loads((out / "ppo-seed-0.json").read_text()) == second  # the refused run lost nothing
