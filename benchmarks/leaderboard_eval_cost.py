"""What one evaluated episode costs the leaderboard, per attack and per number of users evaluated at once.

The board's evaluation runs through :func:`benchmarks.leaderboard.scoring.score` (the project's
evaluator plus the per-episode keys), exactly as an eval cell does, for a PPO ``MlpPolicy`` victim
(untrained: the cost of a forward or backward pass does not depend on the weights) on the board's
env, under each attack of the board at the main L-inf budget. Timings are CPU seconds of this process
(``time.process_time``, one torch thread): on a shared machine wall-clock time mostly measures the
other processes. Episode lengths depend on the policy, so the cost per episode is stated with the
mean length it was measured at. The numbers feed the leaderboard's compute plan (README).

Run::

    python benchmarks/leaderboard_eval_cost.py --env-id AdvRec-v0 --episodes 96

It prints a table and writes ``benchmarks/results/leaderboard_eval_cost.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

ATTACKS = ("none", "random", "fgsm", "pgd-10", "critic-pgd")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--env-id", default="AdvRec-v1", help="the board's env id")
    parser.add_argument("--episodes", type=int, default=96, help="episodes per measurement")
    parser.add_argument("--slots", type=int, nargs="+", default=[32, 96], help="users evaluated at once")
    parser.add_argument("--eps", type=float, default=0.01, help="L-inf budget of the attacks")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "leaderboard_eval_cost.json"))
    args = parser.parse_args(argv)
    if args.episodes < 1 or min(args.slots) < 1:
        parser.error(f"--episodes and --slots must be >= 1, got {args.episodes} and {args.slots}.")

    import torch
    from stable_baselines3 import PPO

    from advrec_gym.attacks import Budget
    from advrec_gym.sb3_adapter import SB3VecEnvAdapter
    from benchmarks.leaderboard import entries, envs, scoring
    from benchmarks.leaderboard.envs import EnvConfig
    from benchmarks.leaderboard.results import atomic_write_bytes, git_commit

    torch.set_num_threads(1)
    env = EnvConfig(env_id=args.env_id)
    model = PPO("MlpPolicy", SB3VecEnvAdapter(envs.make_vec(env, 4)), n_steps=16, batch_size=16, seed=0, device="cpu")
    rows = []
    print(f"{'slots':>5} {'attack':>10} {'cpu s':>8} {'s / episode':>12} {'mean length':>12}")
    for slots in args.slots:
        venv = envs.make_vec(env, slots)
        for attack in ATTACKS:
            attacker = None if attack == "none" else entries.make_attack(attack, model, Budget(args.eps, "inf"), 0)
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
            }
            rows.append(row)
            print(f"{slots:5d} {attack:>10} {cpu:8.2f} {row['cpu_s_per_episode']:12.4f} {row['mean_length']:12.1f}")
    doc = {
        "command": "python benchmarks/leaderboard_eval_cost.py " + " ".join(argv or []),
        "commit": git_commit(),
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()})",
        "settings": vars(args),
        "rows": rows,
    }
    atomic_write_bytes(args.out, (json.dumps(doc, indent=1) + "\n").encode())
    print(f"wrote {args.out}")
    return doc


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
