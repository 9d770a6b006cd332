"""``advrec finetune`` and the pipeline behind it: the documented config, bad options, small end-to-end runs."""

from __future__ import annotations

import argparse
import json

import pytest
import yaml

from agents.commands import finetune as command
from agents.supervised.checkpoint import load_checkpoint, read_checkpoint
from agents.supervised.config import FinetuneConfig
from agents.supervised.pipeline import finetune

TINY = {
    "max_length": 12,
    "epochs": 1,
    "batch_size": 128,
    "eval_obs_eps": (0.005,),
    "eval_token_eps": (0.5,),
    "eval_steps": 2,
    "progress": False,
    "device": "cpu",
}


def _parse(argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_print_config_is_the_documented_defaults(capsys):
    assert command.run(_parse(["--print-config"])) == 0
    text = capsys.readouterr().out
    assert "# share of each batch replaced by adversarial examples, in [0, 1]" in text
    assert FinetuneConfig.from_dict(yaml.safe_load(text)) == FinetuneConfig()


def test_flags_override_the_config_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("rho: 0.5\nfreeze: none\neval-obs-eps: [0.01]\n")
    config = command.config_from_args(_parse(["--config", str(path), "--rho", "1.0"]))
    assert (config.rho, config.freeze, config.eval_obs_eps) == (1.0, "none", (0.01,))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rhoo": 0.2}, "unknown config key 'rhoo'. Did you mean 'rho'"),
        ({"source": "movielen"}, "Did you mean 'movielens'"),
        ({"source": "movielens"}, "needs movielens_dir"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "must be < 1"),
    ],
)
def test_bad_config_values(values, message):
    with pytest.raises(ValueError, match=message):
        FinetuneConfig.from_dict(values)


@pytest.mark.slow
def test_finetune_end_to_end_on_env_logs(tmp_path, sup_cache_dir, monkeypatch):
    monkeypatch.setenv("ADVREC_CACHE_DIR", str(sup_cache_dir))
    config = FinetuneConfig(
        num_items=20,
        num_topics=2,
        log_steps=600,
        freeze="encoder",
        rho=0.2,
        output=str(tmp_path / "m.pt"),
        metrics_json=str(tmp_path / "m.json"),
        **TINY,
    )
    result = finetune(config)
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["config"]["rho"] == 0.2 and saved["examples"]["train"] == len(result.splits.train)
    rows = {(r["attack"], r["side"]): r for r in saved["test_metrics"]}
    assert set(rows) == {("none", "-"), ("fgsm", "user"), ("fgsm", "item"), ("pgd", "user"), ("pgd", "item")}
    assert all(0.0 <= r["auc"] <= 1.0 for r in rows.values())
    assert rows[("pgd", "user")]["log_loss"] > rows[("none", "-")]["log_loss"]  # the attack hurts
    # the checkpoint holds the best weights: those of the best epoch, or the start (epoch 0) if none improved
    assert result.training.checkpoint == str(tmp_path / "m.pt")
    assert read_checkpoint(tmp_path / "m.pt")["extra"]["epoch"] == result.training.best_epoch
    assert load_checkpoint(tmp_path / "m.pt", device="cpu").num_items == 20


@pytest.mark.slow
def test_finetune_on_movielens_fixture(movielens_mini, sup_cache_dir, monkeypatch):
    monkeypatch.setenv("ADVREC_CACHE_DIR", str(sup_cache_dir))
    config = FinetuneConfig(
        source="movielens",
        movielens_dir=str(movielens_mini),
        negatives=3,
        val_fraction=0.25,
        test_fraction=0.25,
        freeze="top-only",
        freeze_layers=1,
        rho=0.0,
        **TINY,
    )
    result = finetune(config)
    assert result.catalogue.num_items == 11  # the placeholder movie 9 ("unknown") is left out
    assert result.splits.train.num_users + result.splits.validation.num_users + result.splits.test.num_users == 8
    assert len(result.training.history) == 1
