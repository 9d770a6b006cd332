"""``advrec`` as a whole: every subcommand is registered and has help; ``advrec demo`` runs."""

from __future__ import annotations

import json

import pytest

from agents import cli

SUBCOMMANDS = ["demo", "train", "evaluate", "finetune", "leaderboard"]


def test_every_subcommand_is_registered_including_the_entry_point_ones():
    names = [m.NAME for m in cli.command_modules()]
    assert names == SUBCOMMANDS  # leaderboard comes from benchmarks through the advrec.commands entry point


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_works_through_the_console_script(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith(f"usage: advrec {name}")


def test_advrec_without_a_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_prints_the_baseline_table(tmp_path, small_catalogue_args, small_catalogue_cache_dir, monkeypatch, capsys):
    monkeypatch.setenv("ADVREC_CACHE_DIR", str(small_catalogue_cache_dir))
    out_json = tmp_path / "demo.json"
    argv = ["demo", "--no-game", "--episodes", "6", "--num-envs", "3", "--json", str(out_json),
            "--num-items", str(small_catalogue_args["num_items"]),
            "--num-topics", str(small_catalogue_args["num_topics"])]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    names = ["random", "popularity", "nearest-neighbour", "nn-filter", "oracle", "planner"]
    for policy in names:
        assert f"\n{policy}" in out
    rows = json.loads(out_json.read_text())["baselines"]
    assert [r["policy"] for r in rows] == names
    by_name = {r["policy"]: r for r in rows}
    # the ceilings read the hidden state: both beat random; the planner keeps its users longer
    assert by_name["oracle"]["return_mean"] > by_name["random"]["return_mean"]
    assert by_name["planner"]["length_mean"] > by_name["oracle"]["length_mean"]
    assert 0.0 <= by_name["oracle"]["low_quality_clicked"] <= 1.0


def test_demo_refuses_an_existing_output_dir(tmp_path, capsys):
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
