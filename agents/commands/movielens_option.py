"""The one ``--movielens PATH`` option of the ``advrec`` commands: run over an ml-100k folder.

With it a command uses AdvRec-MovieLens-v1 (:mod:`advrec_gym.movielens_env`): the folder's films as the
catalogue and simulated users fitted to its ratings, training on its training users and evaluating on
its held-out users. The folder is checked when the command starts, with a one-line error naming the
missing file (or, when the files are read, the malformed file and line).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "an ml-100k folder (u.item + u.data; the real MovieLens 100K or python -m advrec_gym.movielens_synthetic "
    "OUT): use AdvRec-MovieLens-v1 over it, users fitted to its ratings (training users to train, held-out "
    "users to evaluate)"
)


def add_movielens_option(parser: argparse.ArgumentParser, help_text: str = HELP) -> None:
    """Add ``--movielens PATH`` (default None: the synthetic catalogue)."""
    parser.add_argument("--movielens", metavar="PATH", default=None, help=help_text)


def movielens_folder(args: argparse.Namespace) -> str | None:
    """The ``--movielens`` folder of parsed arguments, checked now; None when not given.

    Raises:
        FileNotFoundError: the folder, its ``u.item`` or its ``u.data`` is missing (the message names it).
    """
    path = getattr(args, "movielens", None)
    return None if path is None else check_folder(path)


def check_folder(path: str) -> str:
    """``path`` as the ml-100k folder it names, after checking that ``u.item`` and ``u.data`` are there."""
    from advrec_gym.movielens import resolve_dir

    item_path, data_path = resolve_dir(path)
    if data_path is None:
        raise FileNotFoundError(f"{item_path.parent / 'u.data'} not found: the MovieLens env needs the ratings.")
    return str(Path(item_path.parent))
