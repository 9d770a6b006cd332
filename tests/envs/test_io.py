"""The project's one file layer (advrec_gym._io): atomic writes and config files read with named errors."""

from __future__ import annotations

import json
import os
import stat

import pytest

from advrec_gym._io import (
    ConfigFileError,
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_writer,
    read_config_file,
    read_json_file,
    unique_directory,
)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_replaces_the_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "out.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()  # not mkstemp's 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_writer(path) as f:
            f.write(b"half of the new")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_unserialisable_json_creates_no_file(tmp_path):
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "x.json", {"a": object()})
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_appears_complete_or_not_at_all(tmp_path):
    final = tmp_path / "phase-0001"
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(final) as tmp:
            (tmp / "a.txt").write_text("a")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary twin
    with atomic_directory(final) as tmp:
        (tmp / "a.txt").write_text("a")
        assert not final.exists()  # invisible until the block ends
    with atomic_directory(final) as tmp:  # an existing folder is replaced
        (tmp / "b.txt").write_text("b")
    assert sorted(p.name for p in final.iterdir()) == ["b.txt"]
    assert stat.S_IMODE(final.stat().st_mode) == 0o777 & ~_umask()


def test_unique_directories_differ_within_one_second(tmp_path):
    made = {unique_directory(tmp_path / "runs", "demo-20260101-120000-") for _ in range(20)}
    assert len(made) == 20 and all(p.is_dir() and p.name.startswith("demo-20260101-120000-") for p in made)


@pytest.mark.parametrize(
    ("name", "text", "line", "column", "kind"),
    [
        ("c.yaml", "defence: pgd\nrounds: [1, 2\n", 3, 1, "YAML"),
        ("c.yml", "a: 1\n  b: 2\n", 2, 4, "YAML"),
        ("c.json", '{\n  "defence": "pgd",\n  "rounds": 3,\n}\n', 4, 1, "JSON"),
    ],
)
def test_malformed_config_files_name_the_file_and_the_line(tmp_path, name, text, line, column, kind):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigFileError) as info:
        read_config_file(path)
    assert (info.value.path, info.value.line, info.value.column) == (path, line, column)
    assert str(info.value).startswith(f"{path}, line {line}, column {column}: not valid {kind}")
    assert "<unicode string>" not in str(info.value)


def test_config_files_must_hold_a_mapping_and_have_a_known_suffix(tmp_path):
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigFileError, match=r"list.yaml: board config must hold a mapping .* got list"):
        read_config_file(tmp_path / "list.yaml", what="board config")
    (tmp_path / "empty.yaml").write_text("")
    assert read_config_file(tmp_path / "empty.yaml") == {}
    (tmp_path / "c.toml").write_text("a = 1\n")
    with pytest.raises(ConfigFileError, match=r"must end in .yaml, .yml or .json, got 'c.toml'"):
        read_config_file(tmp_path / "c.toml")
    with pytest.raises(FileNotFoundError, match="Config file not found: .*missing.yaml"):
        read_config_file(tmp_path / "missing.yaml")
    (tmp_path / "bin.json").write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ConfigFileError, match=r"bin.json: not UTF-8 text"):
        read_json_file(tmp_path / "bin.json")


def test_yaml_is_read_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text('x: !!python/object/apply:os.system ["touch ' + str(tmp_path / "pwned") + '"]\n')
    with pytest.raises(ConfigFileError, match="not valid YAML"):
        read_config_file(path)
    assert not (tmp_path / "pwned").exists()
