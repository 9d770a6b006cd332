"""``advrec evaluate``: a checkpoint's recommender, clean and under attack: return, CTR, attack success rate."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.movielens_option import add_movielens_option, movielens_folder
from agents.training.config import EVAL_ATTACKS

NAME = "evaluate"
HELP = (
    "Evaluate a checkpoint's recommender clean and under attacks (the suite: random noise, FGSM, PGD/APGD on "
    "several objectives, critic, MAD, query-only, a learned best response) and print return, CTR and attack "
    "success rate; writes the table as JSON."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="a run directory (its latest checkpoint) or a checkpoint directory"
    )
    parser.add_argument(
        "--attack",
        nargs="+",
        default=["pgd"],
        metavar="NAME",
        help=f"attacks to evaluate: {', '.join(EVAL_ATTACKS)} (learned: the checkpoint's adversary, or a best response)",
    )
    parser.add_argument(
        "--eps", type=float, default=None, help="attack budget in raw embedding units (default: the run's)"
    )
    parser.add_argument("--norm", default=None, help="'inf' or '2' (default: the run's)")
    parser.add_argument("--episodes", type=int, default=50, help="episodes per row")
    parser.add_argument("--seed", type=int, default=None, help="evaluation seed (default: the run's seed + 10000)")
    parser.add_argument("--pgd-steps", type=int, default=None, help="PGD steps (default: the run's)")
    parser.add_argument(
        "--adversary-steps",
        type=int,
        default=0,
        help="train a fresh best-response adversary for this many steps for 'learned' (0: use the checkpoint's adversary)",
    )
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu or cuda")
    parser.add_argument(
        "--json",
        default=None,
        metavar="PATH",
        help="where to write the JSON (default: in the run directory, or in the checkpoint directory given)",
    )
    add_movielens_option(
        parser, "the ml-100k folder of a run trained with --movielens, where it is now (default: the run's own path)"
    )


def run(args: argparse.Namespace) -> int:
    from advrec_gym._io import atomic_write_json
    from advrec_gym._validation import check_choice, check_int
    from agents.training.load import load_players
    from agents.training.report import (
        EVAL_SEED_OFFSET,
        best_response_recipe,
        evaluate_recommender,
        format_table,
        train_best_response,
    )

    attacks = [check_choice("--attack", a, EVAL_ATTACKS) for a in args.attack]
    episodes = check_int("--episodes", args.episodes, low=1)
    adversary_steps = check_int("--adversary-steps", args.adversary_steps, low=0)
    if args.seed is not None:
        check_int("--seed", args.seed, low=0)
    overrides = {
        key: value
        for key, value in (("eps", args.eps), ("norm", args.norm), ("pgd_steps", args.pgd_steps))
        if value is not None
    }
    movielens = movielens_folder(args)
    if movielens is not None:
        from agents.training.checkpoint import find_checkpoint

        trained_on = find_checkpoint(args.checkpoint).config
        if trained_on.movielens is None:
            raise ValueError(
                f"--movielens {args.movielens}: the checkpoint was trained on {trained_on.env_id}, not on a MovieLens "
                "folder; --movielens only points a MovieLens run to where its folder is now."
            )
        overrides["movielens"] = movielens
    loaded = load_players(args.checkpoint, device=args.device, **overrides)
    config = loaded.config
    seed = EVAL_SEED_OFFSET + config.seed if args.seed is None else check_int("--seed", args.seed, low=0)
    adversary, source = loaded.adversary, "the checkpoint's adversary"
    if "learned" in attacks and (adversary is None or adversary_steps > 0):
        steps = adversary_steps or config.attacker_steps
        adversary = train_best_response(loaded.recommender, config, steps, seed, loaded.recommender.device)
        source = f"a best response ({best_response_recipe(config, steps)})"
    rows = evaluate_recommender(loaded.recommender, config, attacks, episodes=episodes, seed=seed, adversary=adversary)
    title = (
        f"{loaded.checkpoint.path} ({config.defence}, {config.policy}), {episodes} episodes per row, "
        f"L{config.norm} eps={config.eps:g}" + ("; learned = " + source if "learned" in attacks else "")
    )
    print(format_table(rows, title))
    path = (
        Path(args.json)
        if args.json
        else json_folder(loaded.checkpoint.path) / (f"eval-{'-'.join(attacks)}-L{config.norm}-{config.eps:g}.json")
    )
    atomic_write_json(path, {"checkpoint": str(loaded.checkpoint.path), "title": title, "seed": seed, "rows": rows})
    print(f"\nwrote {path}")
    return 0


def json_folder(checkpoint: Path) -> Path:
    """Where the evaluation JSON goes by default: the run directory of a run's checkpoint, else the
    checkpoint directory itself (a bare checkpoint folder copied out of its run)."""
    from agents.training.checkpoint import checkpoint_dir

    run_dir = checkpoint.parent.parent
    return run_dir if checkpoint_dir(run_dir).resolve() == checkpoint.parent.resolve() else checkpoint
