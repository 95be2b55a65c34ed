"""``python -m omniweave.train``: the ``omniweave train`` command as a module, so launchers run it:

    accelerate launch --config_file omniweave/configs/accelerate/ddp.yaml -m omniweave.train \\
        --preset nextgpt-7b --stage 1 --output runs/stage1

Takes the same arguments as ``omniweave train`` and calls the same function (``train_stage``).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from omniweave.cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
