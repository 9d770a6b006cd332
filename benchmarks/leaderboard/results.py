"""One JSON file per finished cell: written atomically, checked on every read, never trusted blindly.

A cell file holds::

    {"schema": "advrec-leaderboard-cell/1", "kind": "train" | "eval",
     "spec": {...everything that decides the cell's numbers...}, "spec_hash": sha256(spec),
     "payload": {...the numbers...},
     "provenance": {"commit", "dirty", "command", "host", "date", ..., "code_commit"},
     "checksum": sha256 of all of the above}

``code_commit`` is the commit of the code that computed the cell (:func:`.commits.code_commit`), the
one a board must share across its cells; ``commit`` is ``HEAD`` at the time. Files are compact JSON
(one line): an eval cell holds every episode's return.

Reading checks, in order: the file parses as JSON (a partial write does not), the schema and kind,
the checksum (a corrupted or hand-edited file fails), the spec against the one the current config
asks for (a file from another config is *stale*), and the payload's fields (types, finite numbers).
Any failure raises :class:`ResultFileError` with the path and the reason; the runner reports it, sets
the file aside and recomputes the cell. Nothing that fails a check is ever merged into a board.
Files are written with the project's atomic writer (:func:`advrec_gym._io.atomic_write_bytes`) and
stamped with its one provenance stamp (:func:`benchmarks.provenance.provenance`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from advrec_gym._io import atomic_write_bytes
from benchmarks.leaderboard.commits import code_commit
from benchmarks.provenance import provenance

__all__ = [
    "KINDS",
    "SCHEMA",
    "ResultFileError",
    "atomic_write_bytes",
    "canonical",
    "read_cell",
    "sha256_file",
    "sha256_text",
    "spec_hash",
    "validate_payload",
    "write_cell",
]

SCHEMA = "advrec-leaderboard-cell/1"
KINDS = ("train", "eval")


class ResultFileError(Exception):
    """A cell file that cannot be used: partial, corrupt, stale or malformed.

    Attributes:
        path: the file.
        reason: ``"partial"``, ``"corrupt"``, ``"stale"`` or ``"invalid"``.
        detail: what exactly failed.
    """

    def __init__(self, path: str | os.PathLike, reason: str, detail: str):
        self.path, self.reason, self.detail = Path(path), reason, detail
        super().__init__(f"{self.path}: {reason} result file ({detail})")


def canonical(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace, NaN rejected) for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def spec_hash(spec: dict) -> str:
    return sha256_text(canonical(spec))


def write_cell(path: str | os.PathLike, kind: str, spec: dict, payload: dict) -> None:
    """Validate ``payload`` and write the cell file atomically."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    validate_payload(kind, payload, path)
    doc = {
        "schema": SCHEMA,
        "kind": kind,
        "spec": spec,
        "spec_hash": spec_hash(spec),
        "payload": payload,
        "provenance": {**provenance(), "code_commit": code_commit()},
    }
    doc["checksum"] = sha256_text(canonical(doc))
    atomic_write_bytes(path, (canonical(doc) + "\n").encode())


def cell_code_commit(doc: dict) -> str:
    """The code commit a cell file was computed at (``commit`` for files written before cells recorded it)."""
    prov = doc.get("provenance") or {}
    return prov.get("code_commit") or prov.get("commit") or "unknown"


def read_cell(path: str | os.PathLike, kind: str, spec: dict) -> dict:
    """Return the full document of a valid cell file made for ``spec``; raise :class:`ResultFileError` otherwise.

    Raises:
        FileNotFoundError: there is no file at ``path`` (a missing cell, not a bad one).
        ResultFileError: the file is partial, corrupt, stale or invalid.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(path, "corrupt", f"unreadable: {exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(path, "partial", f"not complete JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise ResultFileError(path, "invalid", f"schema {found!r}, expected {SCHEMA!r}")
    if doc.get("kind") != kind:
        raise ResultFileError(path, "invalid", f"kind {doc.get('kind')!r}, expected {kind!r}")
    body = {k: v for k, v in doc.items() if k != "checksum"}
    try:
        actual = sha256_text(canonical(body))
    except ValueError as exc:  # NaN or inf smuggled in
        raise ResultFileError(path, "corrupt", f"non-finite number: {exc}") from exc
    if doc.get("checksum") != actual:
        raise ResultFileError(path, "corrupt", "checksum mismatch: the file changed after it was written")
    if doc.get("spec") != spec or doc.get("spec_hash") != spec_hash(spec):
        diff = _first_difference(doc.get("spec"), spec)
        raise ResultFileError(path, "stale", f"made for another config ({diff})")
    validate_payload(kind, doc.get("payload"), path)
    return doc


def _first_difference(found: Any, expected: Any, where: str = "spec") -> str:
    if isinstance(found, dict) and isinstance(expected, dict):
        for key in sorted(set(found) | set(expected)):
            if found.get(key) != expected.get(key):
                return _first_difference(found.get(key), expected.get(key), f"{where}.{key}")
    return f"{where}: file has {found!r}, config has {expected!r}"


# --------------------------------------------------------------------------- payload validation
_RECORD_FIELDS = {
    "mode": str,
    "attack": str,
    "eps": (int, float),
    "applicable": bool,
    "return_mean": (int, float, type(None)),
    "ctr": (int, float, type(None)),
    "episodes": int,
    "eval_returns": list,
    "episode_returns": list,
}
_EVAL_FIELDS = {
    "records": list,
    "adversary": (dict, type(None)),
    "wall_s": (int, float),
    "artifact_sha256": (str, type(None)),
    "model_commit": str,
}
_TRAIN_FIELDS = {
    "env_steps": int,
    "wall_s": (int, float),
    "artifact": (str, type(None)),
    "artifact_sha256": (str, type(None)),
}


def validate_payload(kind: str, payload: Any, path: str | os.PathLike = "<payload>") -> None:
    """Check the fields of a cell's payload; raise :class:`ResultFileError` (reason ``invalid``)."""

    def fail(detail: str):
        raise ResultFileError(path, "invalid", detail)

    if not isinstance(payload, dict):
        fail(f"payload is {type(payload).__name__}, expected an object")
    fields = _TRAIN_FIELDS if kind == "train" else _EVAL_FIELDS
    for name, types in fields.items():
        if name not in payload:
            fail(f"payload lacks {name!r}")
        if not isinstance(payload[name], types):
            fail(f"payload[{name!r}] is {type(payload[name]).__name__}")
    if kind == "train":
        if payload["env_steps"] < 0 or not _finite(payload["wall_s"]) or payload["wall_s"] < 0:
            fail("env_steps and wall_s must be finite and >= 0")
        return
    if not _finite(payload["wall_s"]) or payload["wall_s"] < 0:
        fail("wall_s must be finite and >= 0")
    if not payload["records"]:
        fail("no records")
    for i, rec in enumerate(payload["records"]):
        if not isinstance(rec, dict):
            fail(f"records[{i}] is not an object")
        for name, types in _RECORD_FIELDS.items():
            if name not in rec or not isinstance(rec[name], types):
                fail(f"records[{i}][{name!r}] missing or of the wrong type")
        if rec["applicable"]:
            values = [rec["return_mean"], rec["ctr"], *rec["eval_returns"], *rec["episode_returns"]]
            if not all(_finite(v) for v in values) or rec["episodes"] < 1:
                fail(f"records[{i}] (applicable) needs finite returns, CTR and episodes >= 1")
            if len(rec["episode_returns"]) != rec["episodes"]:
                fail(f"records[{i}] has {len(rec['episode_returns'])} episode returns for {rec['episodes']} episodes")


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
