"""A tiny board end to end: every column, resume (also on a fresh clone), bad files detected, the CLI, workers."""

from __future__ import annotations

import argparse
import csv
import json
import shutil

import numpy as np
import pytest
from gymnasium import registry

from benchmarks.leaderboard import cells, command, runner
from benchmarks.leaderboard.aggregate import aggregate
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.leaderboard.report import MixedCommitsError, table_columns, write_report

pytestmark = pytest.mark.slow

# the board's default env once it is registered, the frozen v0 before
ENV_ID = "AdvRec-v1" if "AdvRec-v1" in registry else "AdvRec-v0"
TINY_ENV = EnvConfig(env_id=ENV_ID, num_items=12, num_topics=3, random_embedding_dim=8, max_episode_steps=20)
BASELINES = BoardConfig(
    name="tiny",
    rows=(Row("random"), Row("linucb"), Row("oracle")),
    attacks=("random", "fgsm", "learned"),
    main_eps=0.05,
    eps_scales=(1.0, 2.0),
    train_seeds=(0, 1),
    eval_seeds=(0,),
    episodes=4,
    bandit_steps=128,
    adversary_steps=64,
    num_envs=4,
    env=TINY_ENV,
)
# rows x seeds x (natural + attacks x eps) = 3 x 2 x (1 + 3 x 2)
NUM_EVAL_CELLS = 42
NUM_CELLS = NUM_EVAL_CELLS + 6


def _quiet(msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    data, summary = runner.run_board(BASELINES, out, workers=1, progress=False, log=_quiet)
    table = aggregate(data.records, data.training, BASELINES)
    paths = write_report(data, table, out, command="pytest tiny board")
    return out, data, summary, table, paths


def test_the_board_runs_and_its_table_has_every_column(board):
    out, data, summary, table, paths = board
    assert summary.computed == NUM_CELLS and not summary.failed and not data.missing and not data.problems
    with open(paths["csv"]) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == table_columns(BASELINES)
    for name in ("random@0.05", "random@0.1", "fgsm@0.05", "learned@0.1", "worst@0.1", "drop", "auc"):
        assert f"{name}_median" in rows[0] and f"{name}_ci_low" in rows[0]
    assert len(rows) == 3 * 2  # rows x modes
    optional = ("rank", "rank_shown", "p_vs_above", "rho", "train_env_steps", "train_wall_s")
    for r in rows:  # a complete board: every cell is a number or n/a, none empty
        assert all(v != "" for k, v in r.items() if k not in optional), r
    md = paths["md"].read_text()
    head = "| rank | entry | defence | natural | CTR | random | fgsm | learned | worst | IQR | p vs above | attacks |"
    assert head in md and "| 2/3 |" in md  # random noise and the learned adversary of 3 attacks
    assert "commit `" in md and "pytest tiny board" in md
    doc = json.loads(paths["json"].read_text())
    # one record per (row, training seed, attack, eps, mode): 42 eval cells x 2 modes; the per-episode
    # returns stay in the cell files
    assert len(doc["records"]) == NUM_EVAL_CELLS * 2 and len(doc["training"]) == 6
    assert "episode_returns" not in doc["records"][0] and list(doc["cell_commits"].values()) == [NUM_CELLS]
    # measured cost: LinUCB's 2 trainings; the learned adversary against random and LinUCB (2 seeds x 2
    # eps); natural for 3 rows x 2 seeds, random noise for 2 rows x 2 x 2, and fgsm for LinUCB (through
    # its torch view) x 2 x 2 (fgsm on random and every attack on the oracle: n/a)
    cost = doc["compute"]
    assert cost["train (trained entries)"]["cells"] == 2
    assert cost["eval (learned adversary, with its training)"]["cells"] == 8
    assert cost["eval (the other cells)"]["cells"] == 6 + 8 + 4 and cost["eval (the other cells)"]["worker_s"] > 0
    assert doc["stamp"]["command"] == "pytest tiny board" and doc["stamp"]["machine"]
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # anyone can recompute the table from the JSON's records
    assert aggregate(doc["records"], doc["training"], BASELINES)[0]["natural"] == table[0]["natural"]


def test_the_numbers_obey_the_protocol(board):
    _, _, _, table, _ = board
    by = {(t["row"], t["mode"]): t for t in table}
    for mode in ("sampled", "greedy"):
        rnd, oracle, bandit = by[("random", mode)], by[("oracle", mode)], by[("linucb", mode)]
        # random ignores its observation and replays the same draws under every attack (common random
        # numbers), so every attack leaves its return exactly where it was
        for name in ("random@0.05", "random@0.1", "learned@0.05", "learned@0.1"):
            assert rnd["cells"][name].median == rnd["natural"].median
        assert rnd["cells"]["fgsm@0.05"] == "n/a" and rnd["worst_over"].startswith("black-box only")
        assert rnd["drop"].median == 0.0
        assert oracle["rank"] is None and oracle["worst_main"] is None and oracle["cells"]["random@0.1"] == "n/a"
        assert oracle["natural"].median > rnd["natural"].median
        # LinUCB's scores are differentiable in the observation: FGSM applies to it (not to random)
        assert bandit["worst_over"] == "all attacks" and bandit["cells"]["fgsm@0.05"] != "n/a"
        # a worst case is never above any applicable attack's cell (median of minima <= each median)
        for t, applicable in ((rnd, ("random", "learned")), (bandit, ("random", "fgsm", "learned"))):
            for e in ("0.05", "0.1"):
                assert t["worst"][e].median <= min(t["cells"][f"{a}@{e}"].median for a in applicable)
        assert bandit["train_env_steps"] == 128.0


def _copy(board, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(board[0], out)
    return out


def _counting(monkeypatch) -> list:
    calls = []
    real = cells.execute

    def counted(task):
        calls.append(task[2].key())
        return real(task)

    monkeypatch.setattr(cells, "execute", counted)
    return calls


def test_resume_skips_finished_cells(board, tmp_path, monkeypatch):
    out = _copy(board, tmp_path)
    calls = _counting(monkeypatch)
    _, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls == [] and summary.reused == NUM_CELLS and summary.computed == 0
    (out / "cells/eval/linucb/seed-1/learned@0.1.json").unlink()
    data, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls == ["eval linucb seed=1 learned@0.1"] and summary.computed == 1
    assert not data.missing and len(data.records) == NUM_EVAL_CELLS * 2


def test_a_partial_or_corrupt_file_is_detected_and_recomputed(board, tmp_path, monkeypatch):
    out = _copy(board, tmp_path)
    partial = out / "cells/eval/random/seed-0/random@0.05.json"
    partial.write_text(partial.read_text()[:100])
    edited = out / "cells/eval/linucb/seed-0/none@0.json"
    edited.write_text(edited.read_text().replace('"episodes":4', '"episodes":5', 1))
    # reading the board as it is: both files are reported, neither is merged
    data = runner.collect(BASELINES, out)
    assert sorted((p.path.name, p.reason) for p in data.problems) == [
        ("none@0.json", "corrupt"),
        ("random@0.05.json", "partial"),
    ]
    assert len(data.records) == (NUM_EVAL_CELLS - 2) * 2
    # running it: both are set aside (kept for inspection) and recomputed
    calls = _counting(monkeypatch)
    data, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert sorted(r for _, r, _ in summary.set_aside) == ["corrupt", "partial"]
    assert sorted(calls) == ["eval linucb seed=0 none@0", "eval random seed=0 random@0.05"]
    assert not data.problems and len(data.records) == NUM_EVAL_CELLS * 2
    assert len(list(partial.parent.glob("random@0.05.json.partial-*"))) == 1


def test_a_changed_artifact_is_retrained_only_when_one_of_its_cells_is_missing(board, tmp_path, monkeypatch):
    out = _copy(board, tmp_path)
    artifact = out / "runs/models/linucb/seed-0/bandit.npz"
    artifact.write_bytes(artifact.read_bytes()[:-7] + b"garbage")
    calls = _counting(monkeypatch)
    _, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls == [] and summary.reused == NUM_CELLS  # every eval cell of it is valid: nothing to redo
    (out / "cells/eval/linucb/seed-0/random@0.1.json").unlink()
    _, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls == ["train linucb seed=0", "eval linucb seed=0 random@0.1"]
    # seeded training on the same machine reproduces the recorded artifact bit for bit
    assert summary.retrained == [("train linucb seed=0", True)]


def _without_linucb_models(board, tmp_path):
    """A copy of the board without LinUCB's models and one eval cell of each of its seeds."""
    out = _copy(board, tmp_path)
    shutil.rmtree(out / "runs/models/linucb")
    for seed in (0, 1):
        (out / f"cells/eval/linucb/seed-{seed}/random@0.05.json").unlink()
    return out


def test_a_model_is_scored_as_soon_as_it_is_trained_seed_by_seed(board, tmp_path, monkeypatch):
    out = _without_linucb_models(board, tmp_path)
    calls = _counting(monkeypatch)
    data, _ = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    # not every training first: a machine lost mid-run loses no training whose scores are committed
    assert calls == [
        "train linucb seed=0",
        "eval linucb seed=0 random@0.05",
        "train linucb seed=1",
        "eval linucb seed=1 random@0.05",
    ]
    assert not data.missing


def test_past_the_time_limit_no_training_starts_but_trained_models_are_scored(board, tmp_path, monkeypatch):
    out = _without_linucb_models(board, tmp_path)
    shutil.copytree(board[0] / "runs/models/linucb/seed-0", out / "runs/models/linucb/seed-0")  # seed 0's model is back
    calls = _counting(monkeypatch)
    logged = []
    data, summary = runner.run_board(BASELINES, out, progress=False, log=logged.append, stop_after_s=0)
    assert calls == ["eval linucb seed=0 random@0.05"]
    assert (summary.deferred_train, summary.deferred_eval, summary.computed) == (1, 1, 1)
    assert data.missing == ["eval linucb seed=1 random@0.05"]
    assert any("time limit" in line and "1 trainings" in line for line in summary.lines())
    assert any("time limit reached" in m for m in logged)
    # the next run, without a limit, does what was left
    data, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls[1:] == ["train linucb seed=1", "eval linucb seed=1 random@0.05"] and not data.missing
    with pytest.raises(ValueError, match="stop_after_s"):
        runner.run_board(BASELINES, out, progress=False, log=_quiet, stop_after_s=-1)


def _records_by_cell(data) -> dict:
    return {(r["row"], r["train_seed"], r["attack"], r["eps"], r["mode"]): r for r in data.records}


def test_a_fresh_clone_resumes_from_the_committed_cells_alone(board, tmp_path, monkeypatch):
    # only what is committed: the cell files, no models (runs/ is ignored by git)
    clone = tmp_path / "clone"
    shutil.copytree(board[0] / "cells", clone / "cells")
    calls = _counting(monkeypatch)
    data, summary = runner.run_board(BASELINES, clone, progress=False, log=_quiet)
    assert calls == [] and summary.reused == NUM_CELLS and not data.missing  # valid eval cells need no model
    # a missing eval cell whose model is absent: its (row, seed) is retrained from its seeds and spec first
    (clone / "cells/eval/linucb/seed-1/random@0.05.json").unlink()
    data, summary = runner.run_board(BASELINES, clone, progress=False, log=_quiet)
    assert calls == ["train linucb seed=1", "eval linucb seed=1 random@0.05"]
    assert summary.retrained == [("train linucb seed=1", True)]
    # the same model by spec and code commit: the recomputed cell has the first run's numbers exactly
    assert _records_by_cell(data) == _records_by_cell(board[1])


def test_cells_keep_every_episode_in_key_order(board):
    _, data, _, _, _ = board
    for r in data.records:
        if not r["applicable"]:
            assert r["episode_returns"] == []
            continue
        returns = np.asarray(r["episode_returns"], dtype=float)
        # 1 evaluation seed x 4 episodes, one per slot; their mean is the cell's return
        assert returns.size == r["episodes"] == 4 and returns.mean() == pytest.approx(r["return_mean"], abs=1e-6)
        if r["attack"] == "none":  # the clean history blocks' scale: norms of averages of unit vectors
            assert r["block_dim"] == 8 and all(0.0 < x <= 1.0 + 1e-6 for x in r["block_norms"])
    by = _records_by_cell(data)
    # random ignores its observation and replays its draws under every attack: the same users give the
    # same returns episode by episode (the pairing rows rely on)
    for mode in ("sampled", "greedy"):
        natural = by[("random", 0, "none", 0.0, mode)]["episode_returns"]
        assert by[("random", 0, "learned", 0.1, mode)]["episode_returns"] == natural


def _restamp(path, code_commit: str) -> None:
    """Rewrite a cell file as if it had been computed at ``code_commit`` (with a valid checksum)."""
    from benchmarks.leaderboard.results import canonical, sha256_text

    doc = json.loads(path.read_text())
    doc["provenance"]["code_commit"] = code_commit
    body = {k: v for k, v in doc.items() if k != "checksum"}
    doc["checksum"] = sha256_text(canonical(body))
    path.write_text(canonical(doc))


def test_a_board_of_two_commits_is_refused_and_recomputed_at_one(board, tmp_path, monkeypatch, capsys):
    out = _copy(board, tmp_path)
    other = out / "cells/eval/random/seed-1/fgsm@0.05.json"
    _restamp(other, "0" * 40)
    data = runner.collect(BASELINES, out)
    assert sorted(data.commits.values()) == [1, NUM_CELLS - 1]
    table = aggregate(data.records, data.training, BASELINES)
    with pytest.raises(MixedCommitsError, match="2 code commits"):
        write_report(data, table, out, command="pytest")
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(BASELINES.to_dict()))
    assert command.run(_cli_args(config=config_file, out=out, report_only=True)) == 1
    err = capsys.readouterr().err
    assert "refusing to write the report" in err and f"1 cells at {'0' * 40}" in err
    assert f"--config {config_file} --recompute-other-commits" in err
    # allowed, the report is written and flagged
    paths = write_report(data, table, out, command="pytest", allow_mixed_commits=True)
    assert "WARNING: this board mixes 2 code commits" in paths["md"].read_text()
    # a plain run reuses the cell and warns; --recompute-other-commits recomputes exactly that one
    calls = _counting(monkeypatch)
    _, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls == [] and any("other code commits (1 at 000000000000" in line for line in summary.lines())
    data, _ = runner.run_board(BASELINES, out, progress=False, log=_quiet, recompute_other_commits=True)
    assert calls == ["eval random seed=1 fgsm@0.05"] and len(data.commits) == 1


def _cli_args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    argv = []
    for key, value in kw.items():
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return parser.parse_args(argv)


def test_cli_report_only_refuses_bad_files_and_rebuilds_a_good_board(board, tmp_path, capsys):
    out = _copy(board, tmp_path)
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(BASELINES.to_dict()))
    for name in ("csv", "json", "md", "png"):
        (out / f"leaderboard.{name}").unlink()
    assert command.run(_cli_args(config=config_file, out=out, report_only=True)) == 0
    assert json.loads((out / "leaderboard.json").read_text())["stamp"]["command"] == (
        f"advrec leaderboard --out {out} --config {config_file} --report-only"
    )
    with pytest.raises(ValueError, match="--report-only computes nothing"):
        command.run(_cli_args(config=config_file, out=out, report_only=True, commit_cells=True))
    with pytest.raises(ValueError, match="--commit-cells needs --out inside"):  # before any work
        command.run(_cli_args(config=config_file, out=out, commit_cells=True))
    shutil.rmtree(out / "runs")  # the report needs the cell files only, no model
    assert command.run(_cli_args(config=config_file, out=out, report_only=True)) == 0
    (out / "cells/eval/random/seed-1/none@0.json").write_text("{")
    assert command.run(_cli_args(config=config_file, out=out, report_only=True)) == 1
    assert "partial result file" in capsys.readouterr().err
    # a missing cell is not a bad file: the partial board is reported, and said to be incomplete
    (out / "cells/eval/random/seed-1/none@0.json").unlink()
    (out / "leaderboard.md").unlink()
    assert command.run(_cli_args(config=config_file, out=out, report_only=True)) == 1
    assert "1 cells missing; the board is incomplete" in capsys.readouterr().err
    assert (out / "leaderboard.md").exists()
    for bad in ("0", "-2"):
        with pytest.raises(ValueError, match="--stop-after must be > 0 hours"):
            command.run(_cli_args(config=config_file, out=out, stop_after=bad))
    with pytest.raises(ValueError, match="--stop-after"):
        command.run(_cli_args(config=config_file, out=out, report_only=True, stop_after=1))


def test_config_round_trips_through_a_file_and_rejects_unknown_keys():
    assert BoardConfig.from_dict(json.loads(json.dumps(BASELINES.to_dict()))) == BASELINES
    with pytest.raises(ValueError, match="Did you mean 'episodes'"):
        BoardConfig.from_dict({**BASELINES.to_dict(), "epsiodes": 3})


def test_two_workers_give_the_same_records_as_one(tmp_path):
    config = BoardConfig(
        name="workers",
        rows=(Row("random"), Row("linucb")),
        attacks=("random",),
        main_eps=0.05,
        eps_scales=(1.0,),
        train_seeds=(0, 1),
        eval_seeds=(0,),
        episodes=4,
        bandit_steps=64,
        num_envs=4,
        modes=("sampled",),
        env=TINY_ENV,
    )
    one, _ = runner.run_board(config, tmp_path / "one", workers=1, progress=False, log=_quiet)
    two, summary = runner.run_board(config, tmp_path / "two", workers=2, progress=False, log=_quiet)
    assert summary.computed == 4 + 8 and not summary.failed

    def key(r):
        return (r["row"], r["train_seed"], r["attack"], r["eps"], r["mode"])

    assert sorted(one.records, key=key) == sorted(two.records, key=key)


def test_ppo_rows_train_through_the_trainer_and_face_every_attack(tmp_path):
    config = BoardConfig(
        name="ppo",
        rows=(Row("ppo-item"), Row("ppo-mlp", "pgd", 1.0)),
        attacks=("random", "fgsm", "pgd-10", "critic-pgd"),
        main_eps=0.01,
        eps_scales=(1.0,),
        train_seeds=(0, 1),
        eval_seeds=(0,),
        episodes=2,
        modes=("sampled",),
        train_steps=128,
        num_envs=4,
        trainer_overrides={"n_steps": 16, "batch_size": 32, "net_arch": [16]},
        # the language-model catalogue; AdvRec-v0, which the trainer (agents.training) builds
        env=EnvConfig(env_id="AdvRec-v0", num_items=20, num_topics=4, max_episode_steps=20),
    )
    data, summary = runner.run_board(config, tmp_path, progress=False, log=_quiet)
    assert not summary.failed and not data.missing, summary.lines()
    for t in aggregate(data.records, data.training, config):
        assert t["worst_over"] == "all attacks" and t["complete"]
        assert t["train_env_steps"] == 128.0  # 2 rollouts of 16 steps x 4 users
        cells_ = [t["cells"][f"{a}@0.01"] for a in config.attacks]
        assert all(c.n == 2 for c in cells_)
        assert t["worst_main"].median <= min(c.median for c in cells_)
