"""The ``--movielens PATH`` option of the ``advrec`` commands, on the ml-100k-mini fixture."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from agents import cli
from agents.commands import finetune as finetune_command
from agents.training import TrainConfig

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "ml-100k-mini"
# test_cli_train.py's tiny run, without the synthetic catalogue's size
MOVIELENS_FLAGS = [
    "--num-envs", "4", "--n-steps", "32", "--batch-size", "64", "--net-arch", "32", "--attacker-net-arch", "16",
    "--attacker-n-steps", "32", "--rounds", "1", "--recommender-steps", "128", "--attacker-steps", "64",
    "--pgd-steps", "2", "--eval-episodes", "4", "--phase-eval-episodes", "0", "--attacker-fit-epochs", "2",
    "--attacker-fit-states", "64", "--device", "cpu", "--no-progress", "--no-tensorboard",
]  # fmt: skip


def parser_for(module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"advrec {module.NAME}")
    module.add_arguments(parser)
    return parser


@pytest.fixture
def cache_env(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("ADVREC_CACHE_DIR", str(tmp_path_factory.mktemp("cli-movielens-cache")))


def test_train_config_runs_movielens_training_on_train_users_and_evaluating_on_held_out_users():
    config = TrainConfig(movielens=str(MINI))
    assert config.env_id == "AdvRec-MovieLens-v1"
    assert config.env_kwargs == {"path": str(MINI), "split": "train", "max_episode_steps": 100, "cache_dir": None}
    assert config.eval_env_kwargs == {**config.env_kwargs, "split": "test"}
    plain = TrainConfig()
    assert plain.eval_env_kwargs == plain.env_kwargs and plain.env_id == "AdvRec-v1"
    with pytest.raises(ValueError, match="needs movielens="):
        TrainConfig(env_id="AdvRec-MovieLens-v1")
    with pytest.raises(ValueError, match="drop one"):
        TrainConfig(movielens=str(MINI), env_id="AdvRec-v0")


@pytest.mark.slow
def test_train_and_evaluate_with_movielens(tmp_path, cache_env, capsys):
    run = tmp_path / "run"
    code = cli.main(["train", "--movielens", str(MINI), *MOVIELENS_FLAGS, "--output-dir", str(run)])
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["env_id"] == "AdvRec-MovieLens-v1" and config["movielens"] == str(MINI)
    capsys.readouterr()
    moved = tmp_path / "moved-ml"
    shutil.copytree(MINI, moved)
    code = cli.main(["evaluate", str(run), "--attack", "random", "--episodes", "2", "--movielens", str(moved)])
    assert code == 0
    assert "random" in capsys.readouterr().out


def test_a_missing_folder_is_one_line_before_any_work(tmp_path, capsys):
    run = tmp_path / "run"
    code = cli.main(["train", "--movielens", str(tmp_path / "nowhere"), *MOVIELENS_FLAGS, "--output-dir", str(run)])
    assert code == 2 and not run.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere not found" in err
    only_items = tmp_path / "only-items"
    only_items.mkdir()
    shutil.copy(MINI / "u.item", only_items / "u.item")
    assert cli.main(["demo", "--movielens", str(only_items), "--no-game"]) == 2
    assert capsys.readouterr().err.strip().endswith("u.data not found: the MovieLens env needs the ratings.")


def test_a_malformed_file_names_file_and_line(tmp_path, cache_env, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(MINI, bad)
    lines = (bad / "u.data").read_text().splitlines()
    lines[3] = lines[3].rsplit("\t", 1)[0]
    (bad / "u.data").write_text("\n".join(lines) + "\n")
    assert cli.main(["demo", "--movielens", str(bad), "--no-game", "--episodes", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"advrec demo: error: {bad / 'u.data'}, line 4: expected 4 tab-separated integer fields, found {lines[3]!r}"
    )


@pytest.mark.slow
def test_demo_with_movielens_evaluates_the_references_on_held_out_users(cache_env, capsys):
    assert cli.main(["demo", "--movielens", str(MINI), "--no-game", "--episodes", "4", "--num-envs", "2"]) == 0
    out = capsys.readouterr().out
    assert "MovieLens test users (2)" in out and "AdvRec-MovieLens-v1" in out
    assert "popularity" in out and "planner" in out


def test_finetune_movielens_flags():
    for argv in (["--movielens", str(MINI)], ["--source", "movielens", "--path", str(MINI)]):
        config = finetune_command.config_from_args(parser_for(finetune_command).parse_args(argv))
        assert (config.source, config.movielens_dir) == ("movielens", str(MINI))
