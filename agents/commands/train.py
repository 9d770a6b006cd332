"""``advrec train``: the two-player game (or a defence without a game), checkpointed after every phase."""

from __future__ import annotations

import argparse
import typing

NAME = "train"
HELP = (
    "Train a PPO recommender with a defence (none, noise, pgd, atla: the game against a learned adversary), "
    "checkpointing both players after every phase; --resume DIR continues an interrupted run."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.cli_options import add_config_arguments
    from agents.training.config import TrainConfig

    parser.add_argument("--config", metavar="FILE", default=None, help="a YAML or JSON config file (flags override it)")
    parser.add_argument(
        "--resume",
        metavar="DIR",
        default=None,
        help="continue the run in DIR after its last complete checkpoint (with its saved config)",
    )
    add_config_arguments(parser, TrainConfig)


def overrides_from_args(args: argparse.Namespace) -> dict[str, typing.Any]:
    """The config fields given on the command line (flags left out keep the file's or the default value)."""
    from agents.cli_options import given_values
    from agents.training.config import TrainConfig

    return given_values(args, TrainConfig)


def config_from_args(args: argparse.Namespace):
    """The :class:`~agents.training.config.TrainConfig` of a new run: defaults < ``--config`` file < flags."""
    from agents.cli_options import build_config
    from agents.training.config import TrainConfig

    def make() -> TrainConfig:
        config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
        return config.replace(**overrides_from_args(args))

    return build_config(make, TrainConfig)


def run(args: argparse.Namespace) -> int:
    from agents.cli_options import build_config
    from agents.commands.movielens_option import check_folder
    from agents.training.config import TrainConfig
    from agents.training.trainer import Trainer

    try:
        if args.resume is not None:
            if args.config is not None:
                raise ValueError("--resume continues a run with its saved config; drop --config.")
            trainer = build_config(lambda: Trainer.resume(args.resume, **overrides_from_args(args)), TrainConfig)
        else:
            config = config_from_args(args)
            if config.movielens is not None:  # before the run directory is made
                check_folder(config.movielens)
            trainer = Trainer(config)
    except FileExistsError as exc:  # the CLI reports ValueErrors as usage errors
        raise ValueError(str(exc)) from exc
    trainer.train()
    logs = f" (TensorBoard: tensorboard --logdir {trainer.run_dir / 'tb'})" if trainer.config.tensorboard else ""
    print(f"\nrun directory: {trainer.run_dir}{logs}")
    return 0
