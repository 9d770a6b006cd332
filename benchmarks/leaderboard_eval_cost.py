"""What the leaderboard's evaluation costs: CPU seconds per episode by attack, and the full board's projected core-hours.

The board's evaluation runs through :func:`benchmarks.leaderboard.scoring.score` (the project's
evaluator plus the per-episode keys), exactly as an eval cell does, on the board's env, under each
attack of the board at the main L-inf budget, with as many users at once as an eval cell has
(``--slots``, the full board's 100). The victim is a trained PPO policy (``--run``, an ``advrec
train`` run folder) or, without one, an untrained ``MlpPolicy``: a forward or backward pass costs the
same whatever the weights, but the episodes' lengths (and so the cost per episode) depend on the
policy, so the per-episode cost is stated with the mean length it was measured at. The learned best
responses (``learned``, ``pa-ad``) are timed as an eval cell runs them: trained afresh against the
victim (the board's ``adversary_steps`` and plateau rule), then evaluated.

Timings are CPU seconds of this process (``time.process_time``, one torch thread): on a shared
machine wall-clock time mostly measures the other processes. From them it projects the full board's
evaluation (:func:`benchmarks.leaderboard.protocol.full`): per (PPO row, training seed) the sum over
its eval cells (every attack at each of its budgets, on every evaluation seed), assuming the
measured per-episode cost holds at every budget and for every PPO row (the defended rows' episodes
are about as long as vanilla's; an attack's cost per step does not depend on eps).

Run::

    python benchmarks/leaderboard_eval_cost.py --run RUN     # RUN: a 2M-step ppo-item `advrec train` run

It prints a table and writes ``benchmarks/results/leaderboard_eval_cost_v1.json``; ``--reproject`` recomputes
the projection of a stored measurement with the current code (stamped apart from the measurement). The v0 record
(``benchmarks/results/leaderboard_eval_cost.json``) came from ``--env-id AdvRec-v0 --episodes 96
--slots 32 96 --eps 0.01 --attacks random fgsm pgd-10 critic-pgd --out ...``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
#: the core-hours of training one vanilla PPO-item (row, seed) of the full board (2M steps, 16 users,
#: one worker thread): 1,327 s, measured by the v1 pilot board's seed-0 train cell
#: (benchmarks/results/v1_pilot/cells/train/ppo-item/seed-0.json); the defended rows cost more
VANILLA_TRAIN_CORE_HOURS = 1327 / 3600


def _victim(args, env):
    """The victim: the recommender of ``--run``, or an untrained PPO ``MlpPolicy`` on the board's env."""
    from stable_baselines3 import PPO

    from advrec_gym.sb3_adapter import SB3VecEnvAdapter
    from benchmarks.leaderboard import envs

    if args.run is None:
        venv = SB3VecEnvAdapter(envs.make_vec(env, 4))
        return PPO("MlpPolicy", venv, n_steps=16, batch_size=16, seed=0, device="cpu"), "untrained MlpPolicy"
    from agents.training.load import load_players

    model = load_players(args.run, device="cpu").recommender
    board_space = envs.make_vec(env, 1).single_observation_space
    if model.observation_space.shape != board_space.shape:
        raise ValueError(
            f"--run {args.run}: its recommender observes shape {model.observation_space.shape}, the board's "
            f"env {env.env_id} gives {board_space.shape}; train it on the board's env."
        )
    return model, f"recommender of {args.run}"


def project(rows: list[dict], config, slots: int) -> dict:
    """Projected core-hours of the full board's evaluation per PPO (row, seed) and over its PPO rows.

    An eval cell plays its episodes once per mode (sampled and greedy) and trains its learned
    adversary, if any, once (:func:`benchmarks.leaderboard.cells.run_eval_cell`).
    """
    per_episode = {r["attack"]: r["cpu_s_per_episode"] for r in rows if r["slots"] == slots}
    fixed = {r["attack"]: r.get("adversary_cpu_s", 0.0) for r in rows if r["slots"] == slots}
    episodes = len(config.eval_seeds) * config.episodes
    played = episodes * len(config.modes)
    cells = {"none": 1, **{a: len(config.attack_eps(a)) for a in config.attacks}}
    missing = sorted(a for a in cells if a not in per_episode)
    seconds = {a: n * (played * per_episode[a] + fixed[a]) for a, n in cells.items() if a in per_episode}
    ppo_rows = sum(1 for r in config.rows if r.entry.startswith("ppo-"))
    per_cell_h = sum(seconds.values()) / 3600
    units = ppo_rows * len(config.train_seeds)
    return {
        "episodes_per_cell": episodes,
        "modes": list(config.modes),
        "cells_per_row_seed": cells,
        "attacks_not_measured": missing,
        "core_hours_per_row_seed": {a: round(s / 3600, 3) for a, s in seconds.items()},
        "eval_core_hours_per_ppo_row_seed": round(per_cell_h, 2),
        "ppo_row_seeds": units,
        "eval_core_hours_ppo_rows": round(per_cell_h * units, 1),
        "train_core_hours_ppo_rows_at_least": round(VANILLA_TRAIN_CORE_HOURS * units, 1),
    }


def reproject(path: Path, argv: list[str]) -> dict:
    """Rewrite the projection of the measurement stored at ``path`` (its rows and stamp unchanged)."""
    from advrec_gym._io import atomic_write_json
    from benchmarks.leaderboard.protocol import full
    from benchmarks.provenance import provenance

    try:
        doc = json.loads(path.read_text())
        rows, settings = doc["rows"], doc["settings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"--reproject: {path} is not a stored measurement of this benchmark ({exc}).") from None
    config = full("inf")
    slots = config.slots if config.slots in settings["slots"] else settings["slots"][-1]
    doc["projection"] = project(rows, config, slots)
    doc["projection_provenance"] = provenance(["python", "benchmarks/leaderboard_eval_cost.py", *argv])
    atomic_write_json(path, doc, indent=1)
    _print_projection(doc["projection"], slots)
    return doc


def _print_projection(plan: dict, slots: int) -> None:
    print(
        f"full board, per PPO (row, seed): {plan['eval_core_hours_per_ppo_row_seed']} core-hours of evaluation "
        f"({plan['episodes_per_cell']} episodes a cell in each of {len(plan['modes'])} modes, at {slots} slots); "
        f"{plan['ppo_row_seeds']} PPO (row, seed): {plan['eval_core_hours_ppo_rows']} core-hours of evaluation "
        f"+ at least {plan['train_core_hours_ppo_rows_at_least']} of training"
    )
    if plan["attacks_not_measured"]:
        print(f"  not measured (left out of the projection): {', '.join(plan['attacks_not_measured'])}")


def main(argv: list[str] | None = None) -> dict:
    from benchmarks.leaderboard.protocol import ATTACKS, MAIN_EPS, full

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--env-id", default="AdvRec-v1", choices=["AdvRec-v1", "AdvRec-v0"], help="the board's env")
    parser.add_argument("--run", default=None, help="an `advrec train` run folder whose recommender is the victim")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per measurement")
    parser.add_argument("--slots", type=int, nargs="+", default=[100], help="users evaluated at once")
    parser.add_argument("--eps", type=float, default=MAIN_EPS["inf"], help="L-inf budget of the attacks")
    parser.add_argument(
        "--attacks", nargs="+", default=list(ATTACKS), choices=list(ATTACKS), help="board attacks to time"
    )
    parser.add_argument("--out", default=str(RESULTS / "leaderboard_eval_cost_v1.json"))
    parser.add_argument(
        "--reproject",
        action="store_true",
        help="measure nothing: recompute the projection of the rows stored in --out with this code "
        "(stamped apart from the measurement's own stamp)",
    )
    args = parser.parse_args(argv)
    if args.reproject:
        return reproject(Path(args.out), argv or [])
    if args.episodes < 1 or min(args.slots) < 1 or args.eps <= 0:
        parser.error(
            f"--episodes and --slots must be >= 1 and --eps > 0, got {args.episodes}, {args.slots}, {args.eps}."
        )

    import dataclasses

    import torch

    from advrec_gym._io import atomic_write_json
    from advrec_gym.attacks import Budget
    from benchmarks.leaderboard import entries, envs, scoring
    from benchmarks.provenance import provenance

    torch.set_num_threads(1)
    config = full("inf")
    env = dataclasses.replace(config.env, env_id=args.env_id)
    config = dataclasses.replace(config, env=env)
    model, victim = _victim(args, env)
    budget = Budget(args.eps, "inf")
    rows = []
    print(f"victim: {victim}; {args.episodes} episodes, L-inf {args.eps}")
    print(f"{'slots':>5} {'attack':>13} {'cpu s':>8} {'s / episode':>12} {'mean length':>12} {'adversary s':>12}")
    for slots in args.slots:
        venv = envs.make_vec(env, slots)
        # warm-up, untimed: the env kernel's first call compiles it
        scoring.score(venv, entries.actor(model, 0), episodes=slots, seed=envs.eval_env_seed(0))
        for attack in ["none", *args.attacks]:
            adversary, adversary_s = None, 0.0
            start = time.process_time()
            if attack in ("learned", "pa-ad"):
                adversary = entries.train_adversary(model, config, budget, seed=0, kind=attack)
                adversary_s = time.process_time() - start
            attacker = None if attack == "none" else entries.make_attack(attack, model, budget, 0, adversary)
            start = time.process_time()
            scored = scoring.score(
                venv, entries.actor(model, 0), episodes=args.episodes, seed=envs.eval_env_seed(0), attacker=attacker
            )
            cpu = time.process_time() - start
            row = {
                "slots": slots,
                "attack": attack,
                "cpu_s": round(cpu, 3),
                "cpu_s_per_episode": round(cpu / args.episodes, 5),
                "mean_length": round(float(scored.lengths.mean()), 2),
                "mean_return": round(float(scored.returns.mean()), 3),
                "adversary_cpu_s": round(adversary_s, 1),
            }
            rows.append(row)
            print(
                f"{slots:5d} {attack:>13} {cpu:8.2f} {row['cpu_s_per_episode']:12.4f} {row['mean_length']:12.1f} "
                f"{adversary_s:12.1f}",
                flush=True,
            )
        venv.close()
    slots = config.slots if config.slots in args.slots else args.slots[-1]
    plan = project(rows, config, slots)
    _print_projection(plan, slots)
    doc = {
        "provenance": provenance(["python", "benchmarks/leaderboard_eval_cost.py", *(argv or [])]),
        "victim": victim,
        "settings": vars(args),
        "rows": rows,
        "projection": plan,
    }
    atomic_write_json(args.out, doc, indent=1)
    print(f"wrote {args.out}")
    return doc


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
