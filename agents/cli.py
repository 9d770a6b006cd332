"""The ``advrec`` command line: one subcommand per command module.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. The
agents' commands live in :mod:`agents.commands`; other packages add theirs through the entry-point
group ``advrec.commands`` (``benchmarks`` adds ``leaderboard`` in pyproject.toml), so that ``agents``
never imports ``benchmarks`` (the import direction of the design).

A command's bad input is an ``advrec COMMAND: error: ...`` line and exit status 2, never a traceback;
a missing optional dependency names the extra that installs it (``pip install 'advrec-gym[train]'``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("demo", "train", "evaluate", "finetune")
ENTRY_POINT_GROUP = "advrec.commands"


def command_modules() -> list:
    """The agents' command modules, then those registered under :data:`ENTRY_POINT_GROUP`."""
    from importlib.metadata import entry_points

    modules = [importlib.import_module(f"agents.commands.{name}") for name in COMMANDS]
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        modules.append(ep.load())
    return modules


def build_parser() -> argparse.ArgumentParser:
    from advrec_gym import __version__

    parser = argparse.ArgumentParser(
        prog="advrec",
        description="AdvRec: recommender systems under adversarial observation attacks.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"advrec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        from advrec_gym._optional import missing_extra_message

        message = missing_extra_message(exc.name or "", f"advrec {args.command}")
        if message is None:
            raise
        print(f"advrec {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
