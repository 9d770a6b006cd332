"""A tiny board end to end: every column, resume without recomputation, bad files detected, the CLI, workers."""

from __future__ import annotations

import argparse
import csv
import json
import shutil

import pytest

from benchmarks.leaderboard import cells, command, runner
from benchmarks.leaderboard.aggregate import aggregate
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.leaderboard.report import table_columns, write_report

pytestmark = pytest.mark.slow

TINY_ENV = EnvConfig(num_items=12, num_topics=3, random_embedding_dim=8, max_episode_steps=20)
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
        assert f"{name}_median" in rows[0]
    assert len(rows) == 3 * 2  # rows x modes
    for r in rows:  # a complete board: every cell is a number or n/a, none empty
        assert all(v != "" for k, v in r.items() if k not in ("rank", "rho", "train_env_steps", "train_wall_s")), r
    md = paths["md"].read_text()
    assert "| rank | entry | defence | natural | CTR | random | fgsm | learned | worst | drop | AUC |" in md
    assert "commit `" in md and "pytest tiny board" in md
    doc = json.loads(paths["json"].read_text())
    # one record per (row, training seed, attack, eps, mode): 42 eval cells x 2 modes
    assert len(doc["records"]) == NUM_EVAL_CELLS * 2 and len(doc["training"]) == 6
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
        # a worst case is never above any applicable attack's cell (median of minima <= each median)
        for t in (rnd, bandit):
            for e in ("0.05", "0.1"):
                assert t["worst"][e].median <= min(t["cells"][f"{a}@{e}"].median for a in ("random", "learned"))
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
    (out / "runs/eval/linucb/seed-1/learned@0.1.json").unlink()
    data, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert calls == ["eval linucb seed=1 learned@0.1"] and summary.computed == 1
    assert not data.missing and len(data.records) == NUM_EVAL_CELLS * 2


def test_a_partial_or_corrupt_file_is_detected_and_recomputed(board, tmp_path, monkeypatch):
    out = _copy(board, tmp_path)
    partial = out / "runs/eval/random/seed-0/random@0.05.json"
    partial.write_text(partial.read_text()[:100])
    edited = out / "runs/eval/linucb/seed-0/none@0.json"
    edited.write_text(edited.read_text().replace('"episodes": 4', '"episodes": 5', 1))
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


def test_a_changed_policy_artifact_invalidates_its_training(board, tmp_path, monkeypatch):
    out = _copy(board, tmp_path)
    artifact = out / "runs/models/linucb/seed-0/bandit.npz"
    artifact.write_bytes(artifact.read_bytes()[:-7] + b"garbage")
    calls = _counting(monkeypatch)
    _, summary = runner.run_board(BASELINES, out, progress=False, log=_quiet)
    assert ("corrupt" in [r for _, r, _ in summary.set_aside]) and calls[0] == "train linucb seed=0"


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
    (out / "runs/eval/random/seed-1/none@0.json").write_text("{")
    assert command.run(_cli_args(config=config_file, out=out, report_only=True)) == 1
    assert "partial result file" in capsys.readouterr().err


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
        env=EnvConfig(num_items=20, num_topics=4, max_episode_steps=20),  # the language-model catalogue
    )
    data, summary = runner.run_board(config, tmp_path, progress=False, log=_quiet)
    assert not summary.failed and not data.missing, summary.lines()
    for t in aggregate(data.records, data.training, config):
        assert t["worst_over"] == "all attacks" and t["complete"]
        assert t["train_env_steps"] == 128.0  # 2 rollouts of 16 steps x 4 users
        cells_ = [t["cells"][f"{a}@0.01"] for a in config.attacks]
        assert all(c.n == 2 for c in cells_)
        assert t["worst_main"].median <= min(c.median for c in cells_)
