"""The board on AdvRec-MovieLens-v1 (``EnvConfig(movielens=PATH)``, ``advrec leaderboard --movielens PATH``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import cli
from benchmarks.leaderboard import envs, runner
from benchmarks.leaderboard.aggregate import aggregate
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.leaderboard.report import write_report

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "ml-100k-mini"


def test_a_movielens_path_sets_the_env_id_and_conflicts_are_refused():
    env = envs.EnvConfig(movielens=MINI)
    assert env.env_id == "AdvRec-MovieLens-v1" and env.movielens == str(MINI)
    assert envs.EnvConfig(env_id="AdvRec-MovieLens-v1", movielens=str(MINI)) == env
    with pytest.raises(ValueError, match="needs movielens="):
        envs.EnvConfig(env_id="AdvRec-MovieLens-v1")
    with pytest.raises(ValueError, match="drop one"):
        envs.EnvConfig(env_id="AdvRec-v0", movielens=str(MINI))
    with pytest.raises(ValueError, match="random_embedding_dim must be None, got 8"):
        envs.EnvConfig(movielens=str(MINI), random_embedding_dim=8)
    with pytest.raises(TypeError, match="movielens must be an ml-100k folder"):
        envs.EnvConfig(movielens=3)
    with pytest.raises(ValueError, match="Did you mean 'test'"):
        envs.make_vec(env, 1, split="tset")


def test_the_cli_checks_the_folder_before_any_work(tmp_path, capsys):
    out = tmp_path / "board"
    code = cli.main(["leaderboard", "--quick", "--movielens", str(tmp_path / "nowhere"), "--out", str(out)])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere not found" in err
    code = cli.main(["leaderboard", "--quick", "--movielens", str(MINI), "--env-id", "AdvRec-v0", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "give --movielens or --env-id AdvRec-v0, not both" in capsys.readouterr().err


@pytest.mark.slow
def test_a_movielens_board_trains_on_training_users_and_scores_held_out_users(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVREC_CACHE_DIR", str(tmp_path / "cache"))
    config = BoardConfig(
        name="movielens",
        rows=(Row("random"), Row("popularity"), Row("linucb")),
        attacks=("random",),
        main_eps=0.01,
        eps_scales=(1.0,),
        train_seeds=(0,),
        eval_seeds=(0,),
        episodes=2,
        modes=("sampled",),
        bandit_steps=32,
        num_envs=2,
        env=envs.EnvConfig(movielens=str(MINI), max_episode_steps=10),
    )
    made = []
    gym_make_vec = envs.gym.make_vec

    def spy(env_id, num_envs, **kwargs):
        made.append((env_id, kwargs["path"], kwargs["split"]))
        return gym_make_vec(env_id, num_envs, **kwargs)

    monkeypatch.setattr(envs.gym, "make_vec", spy)
    data, summary = runner.run_board(config, tmp_path / "board", workers=1, progress=False, log=lambda _: None)
    assert not summary.failed and not data.missing, summary.lines()
    assert {(env_id, path) for env_id, path, _ in made} == {("AdvRec-MovieLens-v1", str(MINI))}
    # the catalogue built once up front and LinUCB's training: the training users; every evaluation
    # cell (3 rows x natural + the random attack): the held-out users
    assert [split for *_, split in made].count("train") == 2
    assert [split for *_, split in made].count("test") == 3 * 2
    table = aggregate(data.records, data.training, config)
    assert {t["row"] for t in table} == {"random", "popularity", "linucb"}
    paths = write_report(data, table, tmp_path / "board", command="pytest movielens board")
    report = Path(paths["md"]).read_text()
    assert "- env `AdvRec-MovieLens-v1`" in report and f"Env: the films of {MINI}" in report
