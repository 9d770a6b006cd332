"""``advrec train``: the two-player game (or a defence without a game), checkpointed after every phase."""

from __future__ import annotations

import argparse
import dataclasses
import typing

NAME = "train"
HELP = (
    "Train a PPO recommender with a defence (none, noise, pgd, atla: the game against a learned adversary), "
    "checkpointing both players after every phase; --resume DIR continues an interrupted run."
)


def _optional_float(text: str) -> float | None:
    return None if text.lower() in ("none", "null", "default") else float(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.training.config import TrainConfig, field_docs

    parser.add_argument("--config", metavar="FILE", default=None, help="a YAML or JSON config file (flags override it)")
    parser.add_argument(
        "--resume",
        metavar="DIR",
        default=None,
        help="continue the run in DIR after its last complete checkpoint (with its saved config)",
    )
    docs, defaults, hints = field_docs(), TrainConfig(), typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        default = getattr(defaults, f.name)
        shown = " ".join(map(str, default)) if isinstance(default, list) else default
        kwargs: dict[str, typing.Any] = {
            "default": argparse.SUPPRESS,  # unset flags leave the config file's (or the default) value
            "help": f"{docs.get(f.name, '')} (default: {shown})".replace("%", "%%"),
            "dest": f.name,
        }
        hint = hints[f.name]
        if hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif hint == list[int]:
            kwargs.update(nargs="*", type=int, metavar="N")
        elif hint == list[str]:
            kwargs.update(nargs="*", metavar="NAME")
        elif hint == float | None:
            kwargs.update(type=_optional_float, metavar="X")
        elif hint == str | None:
            kwargs.update(type=str, metavar="DIR")
        else:
            kwargs.update(type=hint, metavar=f.name.split("_")[-1].upper())
        parser.add_argument("--" + f.name.replace("_", "-"), **kwargs)


def overrides_from_args(args: argparse.Namespace) -> dict[str, typing.Any]:
    """The config fields given on the command line (flags left out keep the file's or the default value)."""
    from agents.training.config import TrainConfig

    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}


def config_from_args(args: argparse.Namespace):
    """The :class:`~agents.training.config.TrainConfig` of a new run: defaults < ``--config`` file < flags."""
    from agents.training.config import TrainConfig

    config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    return config.replace(**overrides_from_args(args))


def run(args: argparse.Namespace) -> int:
    from agents.commands.movielens_option import check_folder
    from agents.training.trainer import Trainer

    try:
        if args.resume is not None:
            if args.config is not None:
                raise ValueError("--resume continues a run with its saved config; drop --config.")
            trainer = Trainer.resume(args.resume, **overrides_from_args(args))
        else:
            config = config_from_args(args)
            if config.movielens is not None:  # before the run directory is made
                check_folder(config.movielens)
            trainer = Trainer(config)
    except FileExistsError as exc:  # the CLI reports ValueErrors as usage errors
        raise ValueError(str(exc)) from exc
    trainer.train()
    print(f"\nrun directory: {trainer.run_dir} (TensorBoard: tensorboard --logdir {trainer.run_dir / 'tb'})")
    return 0
