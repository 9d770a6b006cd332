"""``advrec finetune``: fine-tune the language-model click model with adversarial examples mixed in.

Every option of :class:`agents.supervised.config.FinetuneConfig` is a flag (``--rho 0.2``,
``--freeze none``, ``--no-progress``, ...; :mod:`agents.cli_options`); ``--config FILE`` reads a YAML
or JSON file of them (``--print-config`` prints the documented defaults to start from) and flags
override it. Every setting is checked before any work. Prints the training history and the clean /
robust test metrics.
"""

from __future__ import annotations

import argparse
import sys

from agents.commands.movielens_option import add_movielens_option, movielens_folder

NAME = "finetune"
HELP = "Fine-tune the two-tower click model (item text transformer + observation MLP) with FGSM/PGD examples."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.cli_options import add_config_arguments
    from agents.supervised.config import FinetuneConfig

    parser.add_argument(
        "--config", default=None, metavar="FILE", help="a YAML or JSON file of options (flags override it)"
    )
    parser.add_argument("--print-config", action="store_true", help="print the documented config as YAML and exit")
    add_config_arguments(parser, FinetuneConfig)
    parser.add_argument(  # advrec finetune --source movielens --path DIR
        "--path", dest="movielens_dir", default=argparse.SUPPRESS, metavar="DIR", help="the same as --movielens-dir"
    )
    add_movielens_option(parser, "an ml-100k folder: the same as --source movielens --movielens-dir PATH")


def config_from_args(args: argparse.Namespace):
    """The :class:`FinetuneConfig` of a parsed command line (file first, then flags); errors name the flag."""
    from agents.cli_options import build_config, given_values
    from agents.supervised.config import FinetuneConfig

    flags = given_values(args, FinetuneConfig)
    movielens = movielens_folder(args)
    if movielens is not None:
        flags.update(source="movielens", movielens_dir=movielens)
    if args.config:
        return build_config(lambda: FinetuneConfig.from_file(args.config, **flags), FinetuneConfig)
    return build_config(lambda: FinetuneConfig.from_dict(flags), FinetuneConfig)


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
