"""Where components come from, never by downloading them.

A config path is one of:

- ``nano:<component>``: shipped in the package (``omniweave/nano/weights``);
- a local folder (``/models/vicuna-7b-v1.5``, ``~/ckpt/sd``);
- a Hugging Face repo id (``lmsys/vicuna-7b-v1.5``), looked up, in order, as a folder of that
  name under the models root (``$OMNIWEAVE_MODELS``, default ``~/.cache/omniweave/models``) and
  in the local Hugging Face cache (``snapshot_download(local_files_only=True)``).

Nothing here touches the network: a missing component is an ``InputError`` that says what to
download and where (the same line ``omniweave doctor`` prints).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from omniweave.errors import InputError

MODELS_ENV = "OMNIWEAVE_MODELS"
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_MARKERS = ("config.json", "model_index.json", "preprocessor_config.json", "adapter_config.json")


def models_root() -> Path:
    """Where ``--local-dir`` downloads go: ``$OMNIWEAVE_MODELS`` or ``~/.cache/omniweave/models``."""
    return Path(os.environ.get(MODELS_ENV) or Path.home() / ".cache" / "omniweave" / "models").expanduser()


def is_repo_id(path: str) -> bool:
    """``org/name`` (a Hugging Face repo id) rather than a filesystem path."""
    return bool(_REPO_ID.fullmatch(path)) and not path.startswith((".", "~"))


@dataclass(frozen=True)
class Location:
    """Where a config path points: ``folder`` when found, with ``source`` saying how."""
    path: str
    folder: Path | None
    source: str  # nano | folder | models root | HF cache | missing

    @property
    def found(self) -> bool:
        return self.folder is not None


def _complete(folder: Path) -> bool:
    """A model folder holds at least one config file (or, ImageBind, a ``.pth`` checkpoint)."""
    return folder.is_dir() and (any((folder / m).is_file() for m in _MARKERS)
                                or any(folder.glob("*.pth")))


def _hf_cache(repo_id: str) -> Path | None:
    """The cached snapshot of ``repo_id``, without any network access."""
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo_id, local_files_only=True,
                                   cache_dir=os.environ.get("HF_HUB_CACHE") or None)
    except Exception:  # not cached (LocalEntryNotFoundError), bad id, unreadable cache
        return None
    return Path(folder)


def locate(path: str) -> Location:
    """Find what ``path`` names; never raises for a missing component, never downloads."""
    if path.startswith("nano:"):
        from omniweave.nano.components import COMPONENTS, MANIFEST, WEIGHTS_DIR

        name = path.removeprefix("nano:")
        folder = WEIGHTS_DIR / name
        ok = (folder / MANIFEST).exists() if name in COMPONENTS else folder.is_dir()
        return Location(path, folder if ok else None, "nano" if ok else "missing")
    local = Path(path).expanduser()
    if local.is_dir():
        return Location(path, local, "folder")
    if is_repo_id(path):
        under_root = models_root() / path
        if _complete(under_root):
            return Location(path, under_root, "models root")
        cached = _hf_cache(path)
        if cached is not None and _complete(cached):
            return Location(path, cached, "HF cache")
    return Location(path, None, "missing")


def missing_message(path: str, component: str = "component", key: str = "") -> str:
    """One line: what is missing and exactly how to get it."""
    setting = f"set {key}=<folder>" if key else "point the config at a folder"
    if path.startswith("nano:"):
        from omniweave.nano.components import COMPONENTS

        name = path.removeprefix("nano:")
        if name in COMPONENTS:
            return f"{component} {path} is not built in this checkout; run `omniweave nano build {name}`"
        return f"{component} {path} is not shipped in this checkout; {setting}"
    if is_repo_id(path) and not Path(path).expanduser().exists():
        target = models_root() / path
        return (f"{component} {path} not found; download with "
                f"`hf download {path} --local-dir {target}` (or `hf download {path}` into the "
                f"Hugging Face cache) or {setting}")
    return f"{component} {path}: no such model folder; {setting}"


def resolve_path(path: str, component: str = "", key: str = "") -> Path:
    """The folder a config path names; an ``InputError`` with the download line when missing.

    ``component`` (``llm``, ``image encoder``…) and ``key`` (``llm.path``…) only shape the message.
    """
    found = locate(path)
    if found.folder is None:
        if path.startswith("nano:"):
            from omniweave.nano.components import COMPONENTS, require_component

            name = path.removeprefix("nano:")
            if name in COMPONENTS:
                require_component(name)  # its own message: how to build it
            raise InputError(f"{path}: not shipped in this checkout "
                             f"({found.path.removeprefix('nano:')} is missing)")
        raise InputError(missing_message(path, component or "component", key))
    return found.folder


def pick_device(device: str = "auto") -> torch.device:
    """``auto``: this process's GPU (``LOCAL_RANK`` under a launcher) when there is one, else CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        return torch.device("cpu")
    return torch.device(device)


def torch_dtype(name: str) -> torch.dtype:
    """``float32`` | ``bfloat16`` | ``float16`` -> the torch dtype."""
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def runtime(dtype: str, device: str) -> tuple[torch.device, torch.dtype]:
    """The device and dtype a component runs at: float16 only where there is a GPU (on the CPU
    it runs in float32)."""
    dev = pick_device(device)
    return dev, (torch.float32 if dev.type == "cpu" and dtype == "float16" else torch_dtype(dtype))
