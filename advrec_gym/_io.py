"""Files, one way for the whole project: atomic writes, and config files read with errors that name the file.

**Writing.** Every file AdvRec writes (embedding caches, checkpoints, configs, results, benchmark
JSON) goes through a temporary file in the destination's folder, is flushed to disk and renamed
over the destination (``os.replace``, atomic on POSIX): a reader sees the old file or the whole new
one, never a part, and an interrupted or failed write leaves nothing half-written behind. Files get
the permissions of an ordinary new file (``0o666`` less the umask), not the owner-only ones of a
temporary file. :func:`atomic_directory` does the same for a folder of files (a checkpoint).

**Reading.** :func:`read_config_file` reads the YAML or JSON files a user hands us (run configs,
board configs) and :func:`read_json_file` the JSON files we wrote (``config.json``, ``state.json``).
Neither unpickles (``yaml.safe_load``); a malformed file is a :class:`ConfigFileError` that names the
file, the line and the column, never a parser's traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


# ---------------------------------------------------------------------------- writing
@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Open a temporary binary file that replaces ``path`` when the ``with`` block ends without an error.

    For writers that want a file object (``np.savez``, ``torch.save``). The parent folder is
    created. On any exception the temporary file is removed and ``path`` is left as it was.

    Example:
        >>> with atomic_writer("emb.npz") as f:   # doctest: +SKIP
        ...     np.savez(f, embeddings=emb)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring) and return the path."""
    with atomic_writer(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(
    path: str | os.PathLike,
    data: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = False,
    default: Any = None,
    allow_nan: bool = True,
) -> Path:
    """Write ``data`` as JSON (with a final newline) to ``path`` atomically and return the path.

    The JSON text is made before anything touches the disk, so data that cannot be serialised
    raises without creating a file.
    """
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, default=default, allow_nan=allow_nan)
    return atomic_write_text(path, text + "\n")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Fill a temporary folder that becomes ``path`` when the ``with`` block ends without an error.

    The temporary folder (``.tmp-<name>-<pid>-<random>`` next to ``path``) is flushed to disk and
    renamed into place; an existing ``path`` is replaced. A reader sees no folder or the complete
    one. On an exception the temporary folder is removed; after a ``kill -9`` it stays behind under
    its ``.tmp-`` name, which readers ignore and writers may prune.
    """
    path = Path(path)
    tmp = unique_directory(path.parent, f".tmp-{path.name}-{os.getpid()}-")
    try:
        yield tmp
        for file in tmp.rglob("*"):
            if file.is_file():
                fsync_path(file)
        fsync_path(tmp)
        if path.exists():  # e.g. a phase re-run after its checkpoint was deleted by hand
            shutil.rmtree(path)
        os.rename(tmp, path)
        fsync_path(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def unique_directory(parent: str | os.PathLike, prefix: str) -> Path:
    """Create and return a new folder ``parent/<prefix><random>`` that no other process can also get.

    ``tempfile.mkdtemp`` creates it atomically; it gets ordinary permissions (``0o777`` less the umask).
    """
    Path(parent).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, 0o777 & ~_umask())
    return path


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file's or a folder's contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------- reading
class ConfigFileError(ValueError):
    """A config or JSON file that cannot be read: the message names the file (and the line, where known).

    Attributes:
        path: the file.
        line: 1-based line of the problem, or ``None``.
        column: 1-based column of the problem, or ``None``.
    """

    def __init__(self, path: str | os.PathLike, detail: str, line: int | None = None, column: int | None = None):
        self.path, self.line, self.column, self.detail = Path(path), line, column, detail
        where = str(self.path) + (f", line {line}" if line else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {detail}")


def read_config_file(path: str | os.PathLike, *, what: str = "config file", mapping: bool = True) -> Any:
    """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) file a user gave us.

    Args:
        path: the file.
        what: how the file is named in errors (``"--config"``, ``"board config"``, ...).
        mapping: require a mapping at the top level (an empty file reads as ``{}``).

    Raises:
        FileNotFoundError: there is no such file.
        ConfigFileError: the suffix is not one of :data:`CONFIG_SUFFIXES`, the file is not valid
            YAML/JSON (the message gives the line and column), or it holds no mapping.
    """
    path = Path(path)
    if path.suffix.lower() not in CONFIG_SUFFIXES:
        raise ConfigFileError(path, f"{what} must end in .yaml, .yml or .json, got {path.name!r}")
    if path.suffix.lower() == ".json":
        return read_json_file(path, what=what, mapping=mapping)
    import yaml

    text = _read_text(path, what)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise ConfigFileError(path, f"not valid YAML ({problem})", line, column) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(path, f"not valid YAML ({exc})") from None
    return _check_mapping(path, {} if data is None else data, what, mapping)


def read_json_file(path: str | os.PathLike, *, what: str = "JSON file", mapping: bool = True) -> Any:
    """Read a JSON file; errors name the file, the line and the column (see :func:`read_config_file`)."""
    path = Path(path)
    text = _read_text(path, what)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(path, f"not valid JSON ({exc.msg})", exc.lineno, exc.colno) from None
    return _check_mapping(path, data, what, mapping)


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        folder = " (it is a folder)" if path.is_dir() else ""
        raise FileNotFoundError(f"{what[:1].upper()}{what[1:]} not found: {path}{folder}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigFileError(path, f"unreadable ({exc.strerror or exc})") from None


def _check_mapping(path: Path, data: Any, what: str, mapping: bool) -> Any:
    if mapping and not isinstance(data, dict):
        raise ConfigFileError(path, f"{what} must hold a mapping of names to values, got {type(data).__name__}")
    return data
