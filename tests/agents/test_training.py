"""The two-player trainer: the phase plan, the config, checkpoints, resume and determinism.

The games here are tiny (60 items, 4 users at a time, a few hundred steps per phase): they check the
machinery, not learning (see test_policies.py for that).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch as th

from agents.training import TrainConfig, Trainer, latest_checkpoint, list_checkpoints, load_players, phase_plan
from agents.training.checkpoint import prune_checkpoints


def tiny_config(output_dir, cache_dir, **overrides) -> TrainConfig:
    """A game of two rounds that runs in seconds on one core."""
    base = dict(
        num_items=60, num_topics=4, cache_dir=str(cache_dir), num_envs=4, n_steps=32, batch_size=64,
        net_arch=[32], attacker_net_arch=[16], attacker_n_steps=32, rounds=2, recommender_steps=256,
        attacker_steps=128, eps=0.02, pgd_steps=2, eval_episodes=4, phase_eval_episodes=2,
        eval_attacks=["random", "pgd", "learned"], device="cpu", progress_bar=False, tensorboard=False,
        attacker_fit_epochs=2, attacker_fit_states=64, defence="atla", output_dir=str(output_dir),
    )  # fmt: skip
    base.update(overrides)
    return TrainConfig(**base)


def parameters(model) -> dict[str, th.Tensor]:
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def assert_same_parameters(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert th.equal(a[key], b[key]), key


def tensorboard_scalars(folder) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, small_catalogue, small_catalogue_cache_dir):
    """An uninterrupted two-round game (the reference for determinism and resume)."""
    th.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("full") / "run"
    trainer = Trainer(tiny_config(run_dir, small_catalogue_cache_dir, keep_checkpoints=10))
    rows = trainer.train()
    return trainer, rows


# ---------------------------------------------------------------------- plan and config
def test_phase_plan_alternates_the_players_of_a_game():
    plan = phase_plan(TrainConfig(defence="atla", rounds=2, warmup_steps=100, recommender_steps=50, attacker_steps=20))
    assert [(p.round, p.player, p.steps) for p in plan] == [
        (0, "recommender", 100),
        (1, "recommender", 50),
        (1, "adversary", 20),
        (2, "recommender", 50),
        (2, "adversary", 20),
    ]
    assert [p.index for p in plan] == [0, 1, 2, 3, 4] and plan[0].name == "warm-up"


@pytest.mark.parametrize("defence", ["none", "noise", "pgd"])
def test_defences_without_a_game_train_only_the_recommender(defence):
    plan = phase_plan(TrainConfig(defence=defence, rounds=3))
    assert [p.player for p in plan] == ["recommender"] * 3


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"defence": "atlas"}, ValueError, "defence must be one of .* Did you mean 'atla'"),
        ({"rho": 1.5}, ValueError, "rho must be a finite number in \\[0.0, 1.0\\], got rho=1.5"),
        ({"rho": -0.1}, ValueError, "rho must be"),
        (
            {"recommender_steps": -5},
            ValueError,
            "recommender_steps must be an int in \\[0, inf\\), got recommender_steps=-5",
        ),
        ({"rounds": 0}, ValueError, "rounds must be an int in \\[1, inf\\)"),
        ({"eps": -0.01}, ValueError, "eps must be"),
        ({"policy": "mpl"}, ValueError, "Did you mean 'mlp'"),
        ({"net_arch": "64"}, TypeError, "net_arch must be a list of layer sizes"),
        ({"eval_attacks": ["pgd", "fgsn"]}, ValueError, "Did you mean 'fgsm'"),
        ({"defence": "none", "rho": 0.5}, ValueError, "defence='none' attacks none"),
        ({"clean_critic": "yes"}, TypeError, "clean_critic must be true or false"),
    ],
)
def test_bad_configs_are_refused_with_the_field_named(overrides, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**overrides)


def test_default_rho_depends_on_the_defence():
    assert TrainConfig(defence="pgd").train_rho == 0.2  # the original design's mixing ratio
    assert TrainConfig(defence="none").train_rho == 0.0
    assert TrainConfig(defence="pgd", rho=0.7).train_rho == 0.7


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_config_files_round_trip(tmp_path, suffix):
    config = TrainConfig(defence="pgd", rho=0.5, net_arch=[32, 16], eval_attacks=["pgd"], output_dir="x")
    path = tmp_path / f"config{suffix}"
    config.save(path)
    assert TrainConfig.from_file(path) == config


def test_config_file_with_an_unknown_field_suggests_the_right_one(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("defence: pgd\nrecomender_steps: 100\n")
    with pytest.raises(ValueError, match="Unknown field 'recomender_steps'.*Did you mean 'recommender_steps'"):
        TrainConfig.from_file(path)
    with pytest.raises(FileNotFoundError, match="Config file not found"):
        TrainConfig.from_file(tmp_path / "missing.yaml")


# ---------------------------------------------------------------------- a tiny game, end to end
@pytest.mark.slow
def test_a_tiny_game_checkpoints_both_players_and_evaluates(full_run):
    trainer, rows = full_run
    checkpoints = list_checkpoints(trainer.run_dir)
    assert [c.phase for c in checkpoints] == [0, 1, 2, 3]
    for c in checkpoints:
        assert c.recommender_path.is_file() and c.adversary_path is not None
        assert c.state["config"] == trainer.config.to_dict()
        assert c.state["torch_threads"] == 1  # what the run was trained on (bit-identity holds per thread count)
    assert [(c.state["round"], c.state["player"]) for c in checkpoints] == [
        (1, "recommender"),
        (1, "adversary"),
        (2, "recommender"),
        (2, "adversary"),
    ]
    assert [r["attack"] for r in rows] == ["clean", "clean", "random", "pgd", "learned"]
    for r in rows[2:]:
        assert 0.0 <= r["success_rate"] <= 1.0 and 0.0 < r["mean_norm"] <= 0.02 + 1e-6
    saved = json.loads((trainer.run_dir / "evaluation.json").read_text())
    assert saved["rows"][0]["return_mean"] == rows[0]["return_mean"] and len(saved["phases"]) == 4
    # each phase's quick evaluation saw the game's adversary after round 1 started
    assert "success_rate" in saved["phases"][-1]


@pytest.mark.slow
@pytest.mark.parametrize(("defence", "clean_critic"), [("noise", False), ("pgd", True), ("sa", False)])
def test_defences_train_on_attacked_observations(
    defence, clean_critic, tmp_path, small_catalogue, small_catalogue_cache_dir
):
    th.set_num_threads(1)
    config = tiny_config(
        tmp_path / "run", small_catalogue_cache_dir, defence=defence, rho=None if defence == "sa" else 0.5,
        clean_critic=clean_critic, rounds=1, tensorboard=True, eval_attacks=["pgd"],
    )  # fmt: skip
    trainer = Trainer(config)
    rows = trainer.train()
    scalars = tensorboard_scalars(trainer.run_dir / "tb" / "recommender")
    if defence == "sa":  # clean observations, and the regulariser's KL in the loss
        assert all(v == 0.0 for v in scalars["rollout/attacked_share"])
        kl = scalars["train/sa_kl"]  # logged by SAPPO.train after each update
        assert kl and all(v >= 0.0 for v in kl) and max(kl) > 0.0
    else:
        assert all(0.2 < v < 0.8 for v in scalars["rollout/attacked_share"])  # rho = 0.5 of the steps attacked
    assert all(0.0 <= v <= 1.0 for v in scalars["rollout/ctr"])
    assert {"train/entropy_loss", "train/policy_gradient_loss", "game/return", "game/ctr"} <= scalars.keys()
    assert trainer.recommender.observation_space.shape == ((2 if clean_critic else 1) * (4 * 384 + 6),)
    assert [r["attack"] for r in rows] == ["clean", "clean", "pgd"] and rows[2]["mean_norm"] <= 0.02 + 1e-6
    loaded = load_players(trainer.run_dir, device="cpu")
    assert loaded.adversary is None
    assert_same_parameters(parameters(loaded.recommender), parameters(trainer.recommender))


@pytest.mark.slow
def test_the_same_seed_gives_identical_results(full_run, tmp_path, small_catalogue_cache_dir):
    trainer, rows = full_run
    again = Trainer(tiny_config(tmp_path / "again", small_catalogue_cache_dir))
    rows_again = again.train()
    assert_same_parameters(parameters(again.recommender), parameters(trainer.recommender))
    assert_same_parameters(parameters(again.adversary), parameters(trainer.adversary))
    assert rows_again == rows


@pytest.mark.slow
def test_resume_continues_from_the_right_round_without_repeating_a_phase(full_run, tmp_path, small_catalogue_cache_dir):
    trainer, rows = full_run
    first = Trainer(tiny_config(tmp_path / "run", small_catalogue_cache_dir, rounds=1, keep_checkpoints=10))
    first.train()
    assert latest_checkpoint(first.run_dir).state["round"] == 1
    resumed = Trainer.resume(str(first.run_dir), rounds=2)
    assert resumed.next_phase == 2 and resumed.plan[2].round == 2
    rows_resumed = resumed.train()
    assert [c.phase for c in list_checkpoints(first.run_dir)] == [0, 1, 2, 3]
    assert [p["phase"] for p in latest_checkpoint(first.run_dir).state["results"]] == [0, 1, 2, 3]
    assert_same_parameters(parameters(resumed.recommender), parameters(trainer.recommender))
    assert_same_parameters(parameters(resumed.adversary), parameters(trainer.adversary))
    assert rows_resumed == rows


@pytest.mark.slow
def test_resume_after_kill_9_matches_the_uninterrupted_run(full_run, tmp_path, small_catalogue_cache_dir):
    trainer, _ = full_run
    run_dir = tmp_path / "killed"
    config = tiny_config(run_dir, small_catalogue_cache_dir)
    script = textwrap.dedent(
        f"""
        import torch; torch.set_num_threads(1)
        from agents.training import TrainConfig, Trainer
        Trainer(TrainConfig(**{config.to_dict()!r})).train()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ))
    deadline = time.monotonic() + 300
    while latest_checkpoint(run_dir) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)  # mid-phase: no chance to clean up
    proc.wait()
    assert running and proc.returncode == -signal.SIGKILL, "the run must be killed, not finish on its own"
    done = latest_checkpoint(run_dir)
    assert done is not None, "killed before its first checkpoint: nothing to resume"
    # phases were left to run, so the resume below continues a real interruption
    assert done.phase < len(phase_plan(config)) - 1, done.phase
    assert (run_dir / "run.lock").exists()  # the killed run could not give its lock back ...
    from agents.training.run_lock import StaleLockWarning

    with pytest.warns(StaleLockWarning, match=f"process {proc.pid}"):
        resumed = Trainer.resume(str(run_dir))  # ... and the dead process's lock does not stop the resume
    assert resumed.next_phase == done.phase + 1
    resumed.train()
    assert_same_parameters(parameters(resumed.recommender), parameters(trainer.recommender))
    assert_same_parameters(parameters(resumed.adversary), parameters(trainer.adversary))


@pytest.mark.slow
def test_a_checkpoint_loads_without_unpickling(full_run, monkeypatch):
    trainer, _ = full_run
    import stable_baselines3.common.save_util as save_util

    def refuse(*args, **kwargs):
        raise AssertionError("the loader must not unpickle the SB3 zip's data")

    monkeypatch.setattr(save_util, "json_to_data", refuse)
    loaded = load_players(trainer.run_dir, device="cpu")
    assert loaded.checkpoint.phase == 3 and loaded.config == trainer.config.replace(device="cpu")
    assert_same_parameters(parameters(loaded.recommender), parameters(trainer.recommender))
    assert_same_parameters(parameters(loaded.adversary), parameters(trainer.adversary))


@pytest.mark.slow
def test_the_white_box_warm_start_makes_the_adversary_an_attack(full_run):
    from advrec_gym.attacks import LearnedAdversary, attack_success_rate
    from agents.training.adversary_fit import collect_states, fit_adversary
    from agents.training.players import adversary_env, budget_of, make_adversary, recommender_view

    trainer, _ = full_run
    config, recommender = trainer.config, trainer.recommender
    before = parameters(recommender)
    view = recommender_view(config)
    states = collect_states(recommender, view, 256, seed=5)
    assert states.shape == (256, 4 * 384 + 6) and np.isfinite(states).all()
    adversary = make_adversary(config, adversary_env(config, recommender), "cpu", seed=1)

    def success() -> float:
        attacker = LearnedAdversary(adversary, budget_of(config))
        attacker.bind(view.single_observation_space, view.unwrapped.embedding_slice)
        return attack_success_rate(recommender, attacker, states)

    untrained = success()
    log_prob = fit_adversary(
        adversary, recommender, states, budget_of(config), view.unwrapped.embedding_slice, epochs=100, seed=0
    )
    # the fitted adversary moves the recommender off its clean greedy action far more often
    assert success() > untrained + 0.5, (untrained, success())
    assert log_prob < -1.0  # the clean greedy action became unlikely (log 1/60 = -4.1 is uniform)
    assert_same_parameters(parameters(recommender), before)  # the victim is untouched


# ---------------------------------------------------------------------- resume checks
@pytest.fixture(scope="module")
def short_run(tmp_path_factory, small_catalogue, small_catalogue_cache_dir):
    """One clean recommender phase, checkpointed (no evaluation): a run to resume or tamper with."""
    th.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("short") / "run"
    config = tiny_config(
        run_dir, small_catalogue_cache_dir, defence="none", rounds=1, recommender_steps=128,
        eval_attacks=[], phase_eval_episodes=0,
    )  # fmt: skip
    Trainer(config).train(evaluate=False)
    return run_dir


def _copy(run_dir, tmp_path):
    import shutil

    return shutil.copytree(run_dir, tmp_path / "copy")


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.slow
def test_resume_refuses_an_edited_or_swapped_config_json(short_run, tmp_path):
    run = _copy(short_run, tmp_path)
    _edit_json(run / "config.json", defence="atla", attacker_steps=64)  # what an "atla" run's file would say
    with pytest.raises(ValueError) as info:
        Trainer.resume(str(run))
    message = str(info.value)
    assert f"{run / 'config.json'} does not match the run's latest checkpoint" in message
    assert "defence: 'atla' in config.json, 'none' in the checkpoint" in message
    assert "attacker_steps: 64 in config.json, 128 in the checkpoint" in message
    assert not (run / "run.lock").exists()  # refused before taking the folder


@pytest.mark.slow
def test_resume_takes_the_checkpoints_config_and_the_changes_a_resume_may_make(short_run, tmp_path):
    run = _copy(short_run, tmp_path)
    _edit_json(run / "config.json", rounds=2, eval_episodes=3)  # a resume that extended the run, then stopped
    resumed = Trainer.resume(str(run))
    try:
        assert (resumed.config.rounds, resumed.config.eval_episodes, resumed.config.defence) == (2, 3, "none")
        assert resumed.next_phase == 1 and len(resumed.plan) == 2
    finally:
        resumed.close()


@pytest.mark.slow
def test_resume_with_weights_of_another_catalogue_is_a_clear_error(short_run, tmp_path):
    run = _copy(short_run, tmp_path)
    _edit_json(run / "config.json", num_items=30)  # config.json and state.json agree, the weights do not
    state = run / "checkpoints" / "phase-0000" / "state.json"
    doc = json.loads(state.read_text())
    doc["config"]["num_items"] = 30
    state.write_text(json.dumps(doc))
    with pytest.raises(ValueError) as info:
        Trainer.resume(str(run))
    message = str(info.value)
    assert "recommender.zip does not fit the recommender this config builds" in message
    assert "(60,) in the checkpoint, (30,) here" in message and "num_items" in message
    assert not (run / "run.lock").exists()


def test_a_corrupt_state_json_names_the_file_and_line(tmp_path):
    d = tmp_path / "checkpoints" / "phase-0000"
    d.mkdir(parents=True)
    (d / "recommender.zip").write_bytes(b"")
    (d / "state.json").write_text('{"phase": 0,\n "config": {"num_items": 60,,}}')
    with pytest.raises(ValueError, match=rf"{d / 'state.json'}, line 2, column \d+: not valid JSON"):
        latest_checkpoint(tmp_path)


# ---------------------------------------------------------------------- errors
def test_resume_of_a_missing_directory_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="Run directory not found"):
        Trainer.resume(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="no config.json"):
        Trainer.resume(str(tmp_path))


def test_resume_refuses_to_change_what_the_weights_depend_on(tmp_path):
    config = TrainConfig(output_dir=str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    with pytest.raises(ValueError, match="only .* may change, got \\['net_arch'\\]"):
        Trainer.resume(str(tmp_path), net_arch=[8])


@pytest.mark.slow
def test_a_new_run_refuses_a_directory_that_holds_one(full_run):
    trainer, _ = full_run
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(trainer.config)


def test_leftovers_of_a_killed_write_are_ignored_and_pruned(tmp_path):
    root = tmp_path / "checkpoints"
    (root / ".tmp-phase-0003-123").mkdir(parents=True)
    (root / ".tmp-phase-0003-123" / "state.json").write_text("{")  # torn write
    for phase in range(3):
        d = root / f"phase-{phase:04d}"
        d.mkdir()
        (d / "recommender.zip").write_bytes(b"")
        (d / "state.json").write_text(json.dumps({"phase": phase}))
    assert latest_checkpoint(tmp_path).phase == 2
    prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["phase-0001", "phase-0002"]


def test_phase_seeds_differ_between_phases_and_runs():
    from agents.training.players import phase_seed

    seeds = {phase_seed(s, i) for s in range(3) for i in range(5)}
    assert len(seeds) == 15 and all(0 <= s < 2**31 for s in seeds)
    assert phase_seed(0, 1) == phase_seed(0, 1)
    assert np.unique([phase_seed(0, i) for i in range(100)]).size == 100


def test_models_built_here_leave_no_log_folder_in_the_temp_dir(tmp_path, monkeypatch, small_catalogue_cache_dir):
    """SB3's default logger makes an empty ``SB3-<date>`` folder under the temp dir on every ``learn()``."""
    import tempfile

    from stable_baselines3 import PPO

    from agents.training.players import adversary_env, make_adversary, make_recommender, recommender_view, sb3_env

    th.set_num_threads(1)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    config = tiny_config(tmp_path / "run", small_catalogue_cache_dir)
    recommender = make_recommender(config, sb3_env(recommender_view(config)), "cpu")
    recommender.learn(config.n_steps * config.num_envs)
    adversary = make_adversary(config, adversary_env(config, recommender), "cpu")
    adversary.learn(config.attacker_n_steps * config.num_envs)

    def sb3_folders():
        return [p for p in temp.iterdir() if p.name.startswith("SB3-")]

    assert sb3_folders() == []
    # the control: a model with SB3's default logger does leave one there
    PPO("MlpPolicy", sb3_env(recommender_view(config)), n_steps=config.n_steps, batch_size=64, device="cpu").learn(
        config.n_steps * config.num_envs
    )
    assert len(sb3_folders()) == 1
