"""``advrec demo``: build the default catalogue and run the baseline policies on AdvRec-v0."""

from __future__ import annotations

import argparse
import json
import time

NAME = "demo"
HELP = "Build the default catalogue with the language model and compare the baseline policies."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes per policy")
    parser.add_argument("--num-envs", type=int, default=50, help="users simulated together")
    parser.add_argument("--seed", type=int, default=0, help="evaluation seed")
    parser.add_argument("--num-items", type=int, default=1000, help="items in the synthetic catalogue")
    parser.add_argument("--num-topics", type=int, default=20, help="topics in the synthetic catalogue")
    parser.add_argument("--json", default=None, help="also write the table to this JSON file")


def run(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import advrec_gym  # noqa: F401  (registers AdvRec-v0)
    from agents.baselines import BASELINES, make_baseline
    from agents.evaluation import evaluate

    if args.episodes < 1 or args.num_envs < 1:
        raise ValueError(f"--episodes and --num-envs must be >= 1, got {args.episodes} and {args.num_envs}.")
    start = time.perf_counter()
    venv = gym.make_vec(
        "AdvRec-v0",
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        num_items=args.num_items,
        num_topics=args.num_topics,
    )
    cat = venv.unwrapped.catalogue
    print(f"catalogue: {cat.num_items} items over {cat.num_topics} topics, {cat.dim}-d embeddings "
          f"({time.perf_counter() - start:.1f} s, cached under {advrec_gym.default_cache_dir()})")
    print(f"example item: {cat.texts[0]!r}\n")
    rows = []
    for name in BASELINES:
        policy = make_baseline(name, venv, seed=args.seed)
        result = evaluate(venv, policy, args.episodes, seed=args.seed + 1000, deterministic=name == "oracle")
        rows.append({"policy": name, **result.summary()})
    print(f"{'policy':<12}{'return':>16}{'CTR':>8}{'length':>9}")
    for r in rows:
        note = "  (reads the hidden interests: a ceiling)" if r["policy"] == "oracle" else ""
        print(f"{r['policy']:<12}{r['return_mean']:>9.2f} +- {r['return_std']:<4.1f}{r['ctr']:>8.3f}"
              f"{r['length_mean']:>9.1f}{note}")
    print(f"\n{args.episodes} episodes per policy, AdvRec-v0 defaults, seed {args.seed}.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0
