"""``advrec finetune``: fine-tune the language-model click model with adversarial examples mixed in.

Every option of :class:`agents.supervised.config.FinetuneConfig` is a flag (``--rho 0.2``,
``--freeze none``, ...); ``--config FILE`` reads a YAML file of them (``--print-config`` prints the
documented defaults to start from) and flags override it. Prints the training history and the
clean / robust test metrics.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from agents.commands.movielens_option import add_movielens_option, movielens_folder

NAME = "finetune"
HELP = "Fine-tune the two-tower click model (item text transformer + observation MLP) with FGSM/PGD examples."


def _arg_type(annotation: str):
    if "tuple" in annotation:
        return float, "+"
    if annotation.startswith("bool"):
        return _bool, None
    for name, kind in (("int", int), ("float", float)):
        if annotation.startswith(name):
            return kind, None
    return str, None


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.supervised.config import FinetuneConfig

    parser.add_argument("--config", default=None, help="YAML file of options (flags override it)")
    parser.add_argument("--print-config", action="store_true", help="print the documented default config and exit")
    add_movielens_option(parser, "an ml-100k folder: the same as --source movielens --movielens-dir PATH")
    group = None
    section = None
    for f in dataclasses.fields(FinetuneConfig):
        if f.metadata["section"] != section:
            section = f.metadata["section"]
            group = parser.add_argument_group(section)
        kind, nargs = _arg_type(str(f.type))
        default = f.default
        aliases = ["--path"] if f.name == "movielens_dir" else []  # advrec finetune --source movielens --path DIR
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            *aliases,
            dest=f.name,
            type=kind,
            nargs=nargs,
            default=None,
            help=f"{f.metadata['help']} (default: {default})",
        )


def config_from_args(args: argparse.Namespace):
    """The :class:`FinetuneConfig` of a parsed command line (file first, then flags)."""
    import yaml

    from agents.supervised.config import FinetuneConfig

    values: dict = {}
    if args.config:
        with open(args.config) as f:
            loaded = yaml.safe_load(f) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"--config {args.config} must hold a mapping of options, got {type(loaded).__name__}.")
        values.update(loaded)
    for f in dataclasses.fields(FinetuneConfig):
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    movielens = movielens_folder(args)
    if movielens is not None:
        values.update(source="movielens", movielens_dir=movielens)
    return FinetuneConfig.from_dict(values)


def run(args: argparse.Namespace) -> int:
    from agents.supervised.pipeline import finetune

    config = config_from_args(args)
    if args.print_config:
        sys.stdout.write(config.to_yaml())
        return 0
    result = finetune(config)
    report = result.model.freeze_report
    print(
        f"catalogue: {result.catalogue}; examples train/val/test: "
        f"{len(result.splits.train)}/{len(result.splits.validation)}/{len(result.splits.test)}"
    )
    print(f"freeze={report.strategy}: {report.trainable:,} transformer parameters train, {report.frozen:,} frozen")
    print(f"{'epoch':>5} {'loss':>8} {'val AUC':>8} {'seconds':>8}")
    for h in result.training.history:
        print(f"{h['epoch']:>5} {h['train_loss']:>8.4f} {h['val_auc']:>8.4f} {h['seconds']:>8.1f}")
    print(
        f"best epoch {result.training.best_epoch} (val AUC {result.training.best_val_auc:.4f}), "
        f"{result.training.examples_per_second:.0f} training examples/s"
    )
    print(f"\n{'attack':<7}{'side':<6}{'eps':>7}{'AUC':>8}{'acc':>8}")
    for row in result.test_metrics:
        print(f"{row['attack']:<7}{row['side']:<6}{row['eps']:>7.3g}{row['auc']:>8.4f}{row['accuracy']:>8.4f}")
    if config.output:
        print(f"\ncheckpoint: {config.output}")
    return 0
