"""The project's one device resolver: a device name (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``) to a torch device.

``"auto"`` is the first CUDA GPU when torch sees one, else the cpu. Asking for CUDA where torch sees
none is an error that says so (stable-baselines3's ``get_device`` silently falls back to the cpu, and
moving a model to ``"cuda"`` on a CPU-only torch raises a bare ``AssertionError``): a run never ends
up on another device than the one it was told to use. Configs check the *spelling* of a device at
construction (:func:`check_device_name`) and resolve it (:func:`resolve_device`) before any work.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from advrec_gym._validation import did_you_mean

if TYPE_CHECKING:
    import torch

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def check_device_name(name: str, value: Any) -> str:
    """Validate the spelling of a device (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) and return it.

    Whether the device exists is checked later, by :func:`resolve_device`, so that a config naming
    ``cuda`` can still be read (and changed) on a machine without a GPU.
    """
    if not isinstance(value, str) or not _DEVICE.match(value):
        hint = did_you_mean(value, ("auto", "cpu", "cuda", "mps")) if isinstance(value, str) else ""
        raise ValueError(f"{name} must be one of {list(DEVICE_NAMES)}, got {name}={value!r}.{hint}")
    return value


def resolve_device(device: str | torch.device = "auto", *, name: str = "device") -> torch.device:
    """The torch device for ``device``; CUDA that torch cannot see is a ``ValueError`` naming ``name``.

    Args:
        device: ``"auto"`` (cuda when present, else cpu), ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
            ``"mps"``, or a ``torch.device``.
        name: the argument's name, for the error message.
    """
    import torch

    if isinstance(device, torch.device):
        resolved = device
    else:
        check_device_name(name, device)
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        resolved = torch.device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ValueError(
                f"{name}={str(device)!r} asks for a CUDA GPU, but torch sees none (torch {torch.__version__}, "
                f"{build}); use {name}='auto' (cuda when present) or {name}='cpu'."
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"{name}={str(device)!r} names GPU {resolved.index}, but torch sees {count} "
                f"(cuda:0 to cuda:{count - 1})."
            )
    if resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(
            f"{name}={str(device)!r} asks for Apple's MPS, which torch cannot use here; use 'auto' or 'cpu'."
        )
    return resolved
