"""Command-line flags made from a config dataclass: one flag per field, one way for every command.

``advrec train`` (:class:`~agents.training.config.TrainConfig`) and ``advrec finetune``
(:class:`~agents.supervised.config.FinetuneConfig`) expose every field of their config as a flag:
``num_items`` is ``--num-items``, a bool is ``--x / --no-x``, a list takes several values
(``--net-arch 64 64``), an optional value also takes ``none``. A field's ``--help`` is its
``metadata["help"]`` or, failing that, the docstring under it in the class body; ``metadata["flag"]``
renames a flag and ``metadata["section"]`` groups flags in ``--help``. Every default is shown once.

Flags left out leave the value of the config file (``--config``) or the default: precedence is
defaults < config file < flags. A bad value is an error that names the flag (:func:`build_config`).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Callable
from typing import Any

_NONE = ("none", "null")


def flag_name(f: dataclasses.Field) -> str:
    """The flag of a field: ``--`` + ``metadata["flag"]`` or the field's name, ``_`` spelled ``-``."""
    return "--" + str(f.metadata.get("flag", f.name)).replace("_", "-")


@functools.cache
def field_help(cls: type) -> dict[str, str]:
    """Each field's help: ``metadata["help"]``, else the string literal under the field in the class body."""
    docs: dict[str, str] = {}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # no source (frozen app): metadata only
        tree = None
    if tree is not None:
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, following in zip(body, body[1:], strict=False):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                    docs[node.target.id] = " ".join(str(following.value.value).split())
    for f in dataclasses.fields(cls):
        if "help" in f.metadata:
            docs[f.name] = str(f.metadata["help"])
    return docs


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one flag per field of the dataclass ``cls`` to ``parser`` (see the module docstring)."""
    hints = typing.get_type_hints(cls)
    docs = field_help(cls)
    groups: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = _default(f)
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        if isinstance(default, (list, tuple)) and not default:
            shown = "none"
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": argparse.SUPPRESS,  # unset flags leave the config file's (or the default) value
            "help": f"{docs.get(f.name, '')} (default: {shown})".replace("%", "%%"),
        }
        kwargs.update(_parsing(hints[f.name], f.name))
        section = f.metadata.get("section")
        target = parser
        if section is not None:
            if section not in groups:
                groups[section] = parser.add_argument_group(section)
            target = groups[section]
        target.add_argument(flag_name(f), **kwargs)


def given_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` given on the command line (a field whose flag was left out is absent)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}


def build_config(make: Callable[[], Any], cls: type) -> Any:
    """``make()`` (which builds a config of ``cls``), with a bad field's error naming its flag.

    The configs' errors start with the field's name (``"rho must be ..."``); the CLI's start with the
    flag too (``"--rho: rho must be ..."``), so a user knows what to change on the command line.
    """
    try:
        return make()
    except (ValueError, TypeError) as exc:
        field = _field_of_message(cls, str(exc))
        if field is None:
            raise
        raise type(exc)(f"{flag_name(field)}: {exc}") from exc


def _field_of_message(cls: type, message: str) -> dataclasses.Field | None:
    best = None
    for f in dataclasses.fields(cls):
        if re.match(rf"{re.escape(f.name)}\b", message) and (best is None or len(f.name) > len(best.name)):
            best = f
    return best


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _parsing(hint: Any, name: str) -> dict[str, Any]:
    """argparse settings (type, nargs, action, metavar) for a field's type hint."""
    optional = False
    if _is_union(hint):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            raise TypeError(f"field {name!r}: only `X | None` unions can become flags, got {hint}.")
        hint = members[0]
    origin = typing.get_origin(hint)
    metavar = name.split("_")[-1].upper()
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin in (list, tuple):
        item = next((a for a in typing.get_args(hint) if a is not Ellipsis), str)
        return {"nargs": "*", "type": _scalar(item, False), "metavar": "X" if item is float else metavar}
    if hint in (int, float, str):
        return {"type": _scalar(hint, optional), "metavar": metavar}
    raise TypeError(f"field {name!r}: no flag for type {hint}.")


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _scalar(kind: type, optional: bool) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if optional and text.lower() in _NONE:
            return None
        try:
            return kind(text)
        except ValueError:
            expected = {int: "an integer", float: "a number"}.get(kind, kind.__name__)
            raise argparse.ArgumentTypeError(
                f"expected {expected}{' or none' if optional else ''}, got {text!r}"
            ) from None

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
