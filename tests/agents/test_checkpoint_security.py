"""Nothing AdvRec loads from a user's path unpickles: crafted files that would run code are refused.

Each crafted file holds an object whose unpickling runs ``os.system("touch MARKER")``; the test
asserts the loader refuses it with a clear error *and* the marker was never created.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
import torch

from agents.supervised.checkpoint import FORMAT, load_checkpoint, read_checkpoint

ROOT = Path(__file__).resolve().parents[2]


class Payload:
    """Runs a shell command when unpickled (the classic pickle exploit)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _crafted_click_model(path: Path, marker: Path) -> Path:
    payload = {
        "format": FORMAT,
        "encoder_identity": "{}",
        "config": {},
        "texts": ("a",),
        "state_dict": {"bias": torch.zeros(())},
        "extra": {"epoch": Payload(marker)},
    }
    torch.save(payload, path)
    return path


def test_a_crafted_click_model_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = _crafted_click_model(tmp_path / "model.pt", marker)
    with pytest.raises(ValueError, match=r"model.pt was refused: it holds Python objects other than tensors"):
        read_checkpoint(path)
    with pytest.raises(ValueError, match="was refused"):
        load_checkpoint(path)  # the leaderboard's supervised loader goes through here
    assert not marker.exists()


def test_a_corrupt_click_model_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="cut.pt is not a readable click-model checkpoint"):
        read_checkpoint(tmp_path / "cut.pt")


def test_a_crafted_sb3_zip_is_refused_before_its_weights_are_loaded(tmp_path):
    from agents.training.checkpoint import check_weights

    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    torch.save({"policy.weight": torch.zeros(2), "x": Payload(marker)}, buf)
    path = tmp_path / "recommender.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("policy.pth", buf.getvalue())
    with pytest.raises(ValueError, match=r"recommender.zip was refused: its weights hold Python objects"):
        check_weights(None, path, "the recommender")  # refused before the model is even looked at
    assert not marker.exists()


def test_no_loader_in_the_tree_unpickles():
    """The whole tree, grepped: no pickle loads, no weights_only=False, no allow_pickle=True, no PPO.load."""
    pattern = re.compile(
        r"weights_only\s*=\s*False|allow_pickle\s*=\s*True|pickle\.loads?\(|yaml\.load\(|"
        r"yaml\.unsafe_load|\b(PPO|A2C|SAC|DQN|SAPPO)\.load\(|\bload_from_zip_file\([^)]*load_data\s*=\s*True"
    )
    offenders = []
    for folder in ("advrec_gym", "agents", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if pattern.search(code) and not code.lstrip().startswith(('"', "'", "``")):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
