"""``advrec demo``: the main job. Build the default catalogue, compare the baselines, play a short game.

1. Builds (or loads from the cache) the default catalogue, encoded by the shipped all-MiniLM-L6-v2.
2. Runs the reference policies on AdvRec-v1 (random, popularity, the nearest-neighbour heuristics,
   and two oracles that read the hidden state: the myopic one and the planning one, the ceiling) and prints return,
   CTR, how long users stayed and the share of clicks on low-quality items.
3. Plays a short two-player game (``advrec train``'s defaults with half its steps, so that the demo takes
   about two minutes on 2 cores: a PPO recommender with the item-embedding policy against a learned
   adversary, 2 rounds of 25,000 recommender steps then 10,000 adversary steps) and prints its
   evaluation table: clean, under random noise, under PGD and under the learned adversary.

Every setting is checked before step 1. Each game gets a new run directory (``runs/demo-<time>-<random>``)
unless ``--output-dir`` names one.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agents.commands.movielens_option import add_movielens_option, movielens_folder

#: the demo's game: advrec train's defaults (2 rounds of 50,000 + 20,000 steps) halved, about 2 minutes in all
DEMO_RECOMMENDER_STEPS, DEMO_ATTACKER_STEPS = 25_000, 10_000
NAME = "demo"
HELP = (
    "The main job: build the default catalogue with the language model, compare the baseline policies, "
    "then play a short two-player game (PPO recommender vs learned adversary) and print its evaluation."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes per baseline policy")
    parser.add_argument("--num-envs", type=int, default=50, help="users simulated together for the baselines")
    parser.add_argument("--seed", type=int, default=0, help="seed of the baselines' evaluation and of the game")
    parser.add_argument("--num-items", type=int, default=1000, help="items in the synthetic catalogue")
    parser.add_argument("--num-topics", type=int, default=20, help="topics in the synthetic catalogue")
    parser.add_argument(
        "--game",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the baselines, play a short two-player game (advrec train's defaults with half the steps)",
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="the game's run directory (default: a new runs/demo-YYYYmmdd-HHMMSS-XXXXXX each time)",
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="show the game's progress bar"
    )
    parser.add_argument("--json", default=None, help="also write the baseline table (and the game's) to this JSON file")
    add_movielens_option(parser)


def _baselines(args: argparse.Namespace) -> list[dict]:
    import gymnasium as gym

    import advrec_gym
    from advrec_gym.evaluation import evaluate
    from agents.baselines import REFERENCE_NOTES, make_baseline

    start = time.perf_counter()
    if args.movielens:  # the held-out users (the baselines are evaluated as every trained model is)
        env_id, env_kwargs = "AdvRec-MovieLens-v1", {"path": args.movielens, "split": "test"}
    else:
        env_id, env_kwargs = advrec_gym.DEFAULT_ENV_ID, {"num_items": args.num_items, "num_topics": args.num_topics}
    venv = gym.make_vec(env_id, num_envs=args.num_envs, vectorization_mode="vector_entry_point", **env_kwargs)
    cat = venv.unwrapped.catalogue
    print(
        f"catalogue: {cat.num_items} items over {cat.num_topics} topics, {cat.dim}-d embeddings, "
        f"{int(cat.low_quality.sum())} of low hidden quality ({time.perf_counter() - start:.1f} s, cached under "
        f"{advrec_gym.default_cache_dir()})"
    )
    if cat.kinds is None:
        print(f"an item: {cat.texts[0]!r}; users: {venv.unwrapped.engine.user_model!r}")
    for kind in ("clickbait", "quality") if cat.kinds is not None else ():
        print(f"a {kind} item: {cat.texts[cat.kinds.index(kind)]!r}")
    rows = []
    for name in REFERENCE_NOTES:
        policy = make_baseline(name, venv, seed=args.seed)
        report = evaluate(venv, policy, episodes=args.episodes, seed=args.seed + 1000)
        rows.append({"policy": name, **report.summary()})
    venv.close()
    print(f"\n{'policy':<22}{'return':>16}{'CTR':>7}{'length':>8}{'low-q clicks':>14}")
    for r in rows:
        note = f"  ({REFERENCE_NOTES[r['policy']]})" if REFERENCE_NOTES[r["policy"]] else ""
        print(
            f"{r['policy']:<22}{r['return_mean']:>9.2f} +- {r['return_std']:<4.1f}{r['ctr']:>7.3f}"
            f"{r['length_mean']:>8.1f}{r['low_quality_clicked']:>14.2f}{note}"
        )
    print(f"\n{args.episodes} episodes per policy, {env_id} defaults, seed {args.seed}.")
    return rows


def game_config(args: argparse.Namespace, *, new_folder: bool = True):
    """The game's config in ``--output-dir``, or in a new run directory no other process can get.

    ``new_folder=False`` only checks the settings (no folder is made): the demo does that before its
    first piece of work, and makes the folder when the game starts.
    """
    from advrec_gym._io import unique_directory
    from agents.training import TrainConfig

    def make(out: str) -> TrainConfig:
        return TrainConfig(
            recommender_steps=DEMO_RECOMMENDER_STEPS,
            attacker_steps=DEMO_ATTACKER_STEPS,
            num_items=args.num_items,
            num_topics=args.num_topics,
            seed=args.seed,
            output_dir=out,
            progress_bar=args.progress,
            movielens=args.movielens,
        )

    if args.output_dir is not None or not new_folder:
        return make(args.output_dir or "runs/demo")
    # two demos started in the same second get two run directories
    return make(str(unique_directory("runs", f"demo-{time.strftime('%Y%m%d-%H%M%S')}-")))


def _game(config) -> tuple[list[dict], Path]:
    from agents.training import Trainer

    print(
        f"\n== the game: {config.defence} defence, {config.rounds} rounds of {config.recommender_steps:,} "
        f"recommender steps then {config.attacker_steps:,} adversary steps, L-{config.norm} eps {config.eps} =="
    )
    trainer = Trainer(config)
    rows = trainer.train()
    print(
        f"\nrun directory: {trainer.run_dir} (TensorBoard: tensorboard --logdir {trainer.run_dir / 'tb'}; "
        f"advrec evaluate {trainer.run_dir} --attack pgd fgsm)"
    )
    return rows, trainer.run_dir


def run(args: argparse.Namespace) -> int:
    from advrec_gym._io import atomic_write_json
    from advrec_gym._validation import check_int
    from agents.cli_options import build_config
    from agents.training import TrainConfig

    check_int("--episodes", args.episodes, low=1)
    check_int("--num-envs", args.num_envs, low=1)
    check_int("--num-items", args.num_items, low=1)
    check_int("--num-topics", args.num_topics, low=1)
    check_int("--seed", args.seed, low=0)
    args.movielens = movielens_folder(args)
    if args.output_dir is not None and Path(args.output_dir).exists():
        raise ValueError(f"--output-dir {args.output_dir} exists; give a new folder (the game never overwrites a run).")
    if args.game:  # every setting of the game is checked before the baselines run
        build_config(lambda: game_config(args, new_folder=False), TrainConfig)
    result: dict = {"baselines": _baselines(args)}
    if args.game:
        result["game"], run_dir = _game(game_config(args))
        result["run_dir"] = str(run_dir)
    if args.json:
        atomic_write_json(args.json, json.loads(json.dumps(result, default=str)))
    return 0
