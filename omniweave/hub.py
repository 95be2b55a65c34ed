"""Where components come from: ``nano:<component>`` (shipped in the package) or a local folder."""

from __future__ import annotations

from pathlib import Path

from omniweave.errors import InputError


def resolve_path(path: str) -> Path:
    """The folder a config path names; a clear error when it is not there."""
    if path.startswith("nano:"):
        from omniweave.nano.components import COMPONENTS, WEIGHTS_DIR, require_component

        name = path.removeprefix("nano:")
        if name in COMPONENTS:
            return require_component(name)
        folder = WEIGHTS_DIR / name
        if not folder.is_dir():
            raise InputError(f"{path}: not shipped in this checkout ({folder} is missing)")
        return folder
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise InputError(f"{path}: no such model folder")
    return folder
