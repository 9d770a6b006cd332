"""The ``advrec`` command line as a demanding user meets it: version, one progress flag, help, bad input.

Every bad input is an ``advrec COMMAND: error: ...`` line and exit status 2 that names what was
wrong, checked before any work: the tests replace the first piece of real work of each command with
a function that fails the test if it is ever reached.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from advrec_gym import __version__
from agents import cli


def _sub_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _never(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} started although the input was bad")

    return fail


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"advrec {__version__}"


def test_every_command_spells_the_progress_flag_one_way():
    parsers = _sub_parsers()
    assert {"demo", "train", "finetune", "leaderboard"} <= set(parsers)
    for name, parser in parsers.items():
        spellings = {s for a in parser._actions for s in a.option_strings if "progress" in s}
        if name == "evaluate":  # no progress bar to show
            assert spellings == set()
            continue
        assert spellings == {"--progress", "--no-progress"}, name
        action = next(a for a in parser._actions if "--progress" in a.option_strings)
        assert vars(parser.parse_args(["--no-progress"]))[action.dest] is False, name


def test_finetune_help_shows_each_default_once(capsys):
    with pytest.raises(SystemExit):
        cli.main(["finetune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert re.findall(r"\(default: [^()]*\) \(default:", text) == []
    assert "--rho RHO share of each batch replaced by adversarial examples, in [0, 1] (default: 0.2)" in text
    assert "--progress, --no-progress show a progress bar (default: True)" in text
    assert "--eval-obs-eps [X ...] user-side eps grid of the robust evaluation (default: 0.001 0.002 0.005)" in text


# ---------------------------------------------------------------------------- malformed config files
MALFORMED = {".yaml": "defence: pgd\nrounds: [1, 2\n", ".json": '{\n  "rounds": 3,\n}\n'}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("command", ["train", "finetune", "leaderboard"])
def test_a_malformed_config_file_names_the_file_and_line(command, suffix, tmp_path, capsys, monkeypatch):
    path = tmp_path / f"config{suffix}"
    path.write_text(MALFORMED[suffix])
    import agents.supervised.pipeline
    import agents.training.trainer
    import benchmarks.leaderboard.runner

    monkeypatch.setattr(agents.training.trainer.Trainer, "__init__", _never("training"))
    monkeypatch.setattr(agents.supervised.pipeline, "finetune", _never("fine-tuning"))
    monkeypatch.setattr(benchmarks.leaderboard.runner, "run_board", _never("the board"))
    assert cli.main([command, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    line = 3 if suffix == ".yaml" else 3
    assert re.search(rf"^advrec {command}: error: {re.escape(str(path))}, line {line}, column \d+: not valid", err)
    assert "Traceback" not in err and "<unicode string>" not in err


def test_a_corrupt_state_json_is_named_by_advrec_evaluate(tmp_path, capsys):
    ckpt = tmp_path / "run" / "checkpoints" / "phase-0000"
    ckpt.mkdir(parents=True)
    (ckpt / "recommender.zip").write_bytes(b"")
    (ckpt / "state.json").write_text('{"phase": 0, "config": ')  # torn
    assert cli.main(["evaluate", str(tmp_path / "run")]) == 2
    assert f"{ckpt / 'state.json'}, line 1, column 24: not valid JSON" in capsys.readouterr().err


# ---------------------------------------------------------------------------- settings checked before any work
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--eval-obs-eps", "-0.1"], "--eval-obs-eps: eval_obs_eps[0] must be a finite number in [0.0, inf)"),
        (["--eval-token-eps", "0.5", "nan"], "--eval-token-eps: eval_token_eps[1] must be a finite number"),
        (["--obs-eps", "-1"], "--obs-eps: obs_eps"),
        (["--obs-norm", "1"], "--obs-norm: "),
        (["--lr", "0"], "--lr: lr must be a finite number in (0.0, inf)"),
        (["--encoder-lr", "0"], "--encoder-lr: encoder_lr must be > 0"),
        (["--attack", "pgdd"], "--attack: attack must be one of ['fgsm', 'pgd']"),
        (["--freeze", "top"], "--freeze: freeze must be one of"),
        (["--optimizer", "adam"], "Did you mean 'adamw'"),
        (["--dropout", "1.0"], "--dropout: dropout must be a finite number in [0.0, 1.0)"),
        (["--device", "gpu"], "--device: device must be one of"),
        (["--seed", "-1"], "--seed: seed must be an int in [0, inf)"),
        (["--max-grad-norm", "0"], "--max-grad-norm: max_grad_norm"),
        (["--source", "movielens", "--movielens-dir", "/no/such/ml-100k"], "does not exist"),
    ],
)
def test_finetune_checks_every_setting_before_any_work(argv, named, tmp_path, capsys, monkeypatch):
    import agents.supervised.pipeline

    monkeypatch.setattr(agents.supervised.pipeline, "build_catalogue", _never("building the catalogue"))
    monkeypatch.setattr(agents.supervised.pipeline, "train", _never("training"))
    output = tmp_path / "model.pt"
    assert cli.main(["finetune", *argv, "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advrec finetune: error: ") and named in err, err
    assert not output.exists()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--net-arch"], "--net-arch: net_arch must list at least one hidden layer size"),
        (["--attacker-net-arch"], "--attacker-net-arch: attacker_net_arch must list at least one"),
        (
            ["--batch-size", "4096", "--n-steps", "64", "--num-envs", "8"],
            "--batch-size: batch_size must be <= n_steps * num_envs",
        ),
        (["--catalogue-seed", "-1"], "--catalogue-seed: catalogue_seed must be an int in [0, inf)"),
        (["--device", "cdua"], "Did you mean 'cuda'"),
        (["--rho", "oops"], "argument --rho: expected a number or none, got 'oops'"),
    ],
)
def test_train_checks_every_setting_before_any_work(argv, named, tmp_path, capsys, monkeypatch):
    import agents.training.trainer

    monkeypatch.setattr(agents.training.trainer.Trainer, "__init__", _never("training"))
    try:
        code = cli.main(["train", *argv, "--output-dir", str(tmp_path / "run")])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    assert named in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_minibatch_larger_than_the_rollout_is_refused():
    from agents.training import TrainConfig

    with pytest.raises(ValueError, match=r"batch_size=600 > n_steps \* num_envs = 32 \* 16 = 512"):
        TrainConfig(batch_size=600, n_steps=32)
    assert TrainConfig(batch_size=512, n_steps=32).batch_size == 512  # a whole rollout is fine


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--num-items", "0"], "--num-items must be an int in [1, inf)"),
        (["--episodes", "0"], "--episodes must be an int in [1, inf)"),
        (["--seed", "-3"], "--seed must be an int in [0, inf)"),
        (["--num-topics", "1.5"], "invalid int value"),
    ],
)
def test_demo_checks_its_settings_before_running_the_baselines(argv, named, capsys, monkeypatch, tmp_path):
    from agents.commands import demo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "_baselines", _never("the baselines"))
    try:
        code = cli.main(["demo", *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and named in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------- optional dependencies
def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_missing_training_extra_names_the_install_command(tmp_path):
    block = "import sys; sys.modules['stable_baselines3'] = None; "  # as if stable-baselines3 were not installed
    adapter = _python(block + "import advrec_gym.sb3_adapter")
    assert adapter.returncode == 1
    assert "advrec_gym.sb3_adapter needs stable-baselines3, which is not installed: " in adapter.stderr
    assert "pip install 'advrec-gym[train]'" in adapter.stderr
    train = _python(block + f"from agents.cli import main; sys.exit(main(['train', '--output-dir', '{tmp_path}']))")
    assert train.returncode == 2
    assert train.stderr.strip() == (
        "advrec train: error: advrec train needs stable-baselines3, which is not installed: "
        "pip install 'advrec-gym[train]' (or just stable-baselines3)."
    )
