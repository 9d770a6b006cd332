"""``advrec train`` and ``advrec evaluate``: flags, help, errors, and a tiny run end to end."""

from __future__ import annotations

import argparse
import json

import pytest
import torch as th

from agents import cli
from agents.commands import evaluate as evaluate_command
from agents.commands import train as train_command
from agents.training import TrainConfig

TINY_FLAGS = [
    "--num-items", "60", "--num-topics", "4", "--num-envs", "4", "--n-steps", "32", "--batch-size", "64",
    "--net-arch", "32", "--attacker-net-arch", "16", "--attacker-n-steps", "32", "--rounds", "1",
    "--recommender-steps", "128", "--attacker-steps", "64", "--pgd-steps", "2", "--eval-episodes", "4",
    "--phase-eval-episodes", "0", "--attacker-fit-epochs", "2", "--attacker-fit-states", "64", "--device", "cpu",
    "--no-progress", "--no-tensorboard",
]  # fmt: skip


def parser_for(module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"advrec {module.NAME}", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    module.add_arguments(parser)
    return parser


@pytest.mark.parametrize("module", [train_command, evaluate_command])
def test_each_subcommand_help_works(module, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser_for(module).parse_args(["--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # help text wraps anywhere
    assert out.startswith(f"usage: advrec {module.NAME}")
    if module is train_command:  # every config field, with its doc and default
        assert "--recommender-steps" in out and "(default: 50000)" in out
        assert "--defence" in out and "(default: atla)" in out
        assert "--clean-critic, --no-clean-critic" in out


def test_advrec_help_works(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: advrec" in capsys.readouterr().out


def test_flags_override_the_config_file_which_overrides_the_defaults(tmp_path):
    path = tmp_path / "game.yaml"
    path.write_text("defence: pgd\nrho: 0.5\nrounds: 3\n")
    args = parser_for(train_command).parse_args(
        ["--config", str(path), "--rounds", "4", "--net-arch", "32", "16", "--no-progress", "--rho", "none"]
    )
    config = train_command.config_from_args(args)
    assert (config.defence, config.rounds, config.net_arch, config.progress_bar) == ("pgd", 4, [32, 16], False)
    assert config.rho is None and config.train_rho == 0.2
    assert config.recommender_steps == TrainConfig().recommender_steps


@pytest.mark.parametrize(
    ("argv", "error", "match"),
    [
        (["--defence", "atlas"], ValueError, "Did you mean 'atla'"),
        (["--rho", "1.5"], ValueError, "rho must be a finite number in \\[0.0, 1.0\\]"),
        (["--recommender-steps", "-100"], ValueError, "recommender_steps must be an int in \\[0, inf\\)"),
        (["--resume", "/no/such/run"], FileNotFoundError, "Run directory not found: /no/such/run"),
        (["--config", "/no/such/config.yaml"], FileNotFoundError, "Config file not found"),
    ],
)
def test_a_bad_config_is_a_clear_error(argv, error, match, tmp_path):
    args = parser_for(train_command).parse_args([*argv, "--output-dir", str(tmp_path / "run")])
    with pytest.raises(error, match=match):
        train_command.run(args)
    assert not (tmp_path / "run").exists()  # nothing started


def test_the_console_script_exits_non_zero_on_a_bad_config(capsys, tmp_path):
    code = cli.main(["train", "--defence", "atlas", "--output-dir", str(tmp_path)])
    assert code == 2
    assert "Did you mean 'atla'" in capsys.readouterr().err


def test_evaluate_of_a_missing_checkpoint_is_a_clear_error(tmp_path):
    args = parser_for(evaluate_command).parse_args([str(tmp_path / "nothing")])
    with pytest.raises(FileNotFoundError, match="Checkpoint directory not found"):
        evaluate_command.run(args)
    args = parser_for(evaluate_command).parse_args([str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="No complete checkpoint"):
        evaluate_command.run(args)


@pytest.mark.slow
def test_train_then_evaluate_from_the_command_line(tmp_path, small_catalogue, small_catalogue_cache_dir, capsys):
    th.set_num_threads(1)
    run_dir = tmp_path / "run"
    argv = [*TINY_FLAGS, "--cache-dir", str(small_catalogue_cache_dir), "--output-dir", str(run_dir)]
    assert train_command.run(parser_for(train_command).parse_args([*argv, "--eval-attacks", "random"])) == 0
    out = capsys.readouterr().out
    assert "clean" in out and "random" in out and "success" in out
    assert f"run directory: {run_dir}" in out and "TensorBoard" not in out  # --no-tensorboard: no logs to point at
    assert (run_dir / "checkpoints" / "phase-0001" / "adversary.zip").is_file()

    json_path = tmp_path / "eval.json"
    args = parser_for(evaluate_command).parse_args(
        [str(run_dir), "--attack", "pgd", "learned", "--eps", "0.01", "--episodes", "4", "--json", str(json_path)]
    )
    assert evaluate_command.run(args) == 0
    out = capsys.readouterr().out
    assert "pgd" in out and "learned" in out and f"wrote {json_path}" in out
    saved = json.loads(json_path.read_text())
    assert [r["attack"] for r in saved["rows"]] == ["clean", "clean", "pgd", "learned"]
    for row in saved["rows"][2:]:
        assert row["eps"] == 0.01 and 0.0 <= row["success_rate"] <= 1.0 and row["mean_norm"] <= 0.01 + 1e-6
    with pytest.raises(ValueError, match="Did you mean 'pgd'"):
        evaluate_command.run(parser_for(evaluate_command).parse_args([str(run_dir), "--attack", "pdg"]))

    # a checkpoint folder copied out of its run: the JSON goes into that folder, not two folders up
    import shutil

    bare = shutil.copytree(run_dir / "checkpoints" / "phase-0001", tmp_path / "shared" / "phase-0001")
    args = parser_for(evaluate_command).parse_args([str(bare), "--attack", "random", "--episodes", "2"])
    assert evaluate_command.run(args) == 0
    assert [p.name for p in bare.glob("eval-*.json")] == ["eval-random-Linf-0.02.json"]
    assert list(tmp_path.glob("eval-*.json")) == [] and list((tmp_path / "shared").glob("eval-*.json")) == []
    # ... and for a run directory, into the run directory
    assert evaluate_command.json_folder(run_dir / "checkpoints" / "phase-0001") == run_dir
