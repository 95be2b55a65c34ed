"""Widen the shipped any-to-any model's LoRA adapter before tool training.

The nano LLM never saw ``{``, ``"``, ``_`` or ``<`` in pretraining: its output rows for them are
untrained and a LoRA on attention alone barely moves their probability (tool-call tokens stayed
at ~6 nats after 70 steps). ``widen_adapter`` rebuilds the adapter with the same rank on the
attention projections (their trained weights copied in), the MLP and ``lm_head`` (new, starting at
zero, so the model is unchanged until it trains), and writes a checkpoint that ``omniweave train
--init`` continues from; the result still loads with ``AnyToAny.from_pretrained``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"]


def widen_adapter(init: str | Path, out: str | Path, targets: list[str] | None = None) -> Path:
    from peft import LoraConfig, get_peft_model

    from omniweave.model import AnyToAny

    model = AnyToAny.from_pretrained(init)
    old = model.llm
    cfg = old.peft_config["default"]
    old_state = {k: v.clone() for k, v in old.state_dict().items() if "lora_" in k}
    base = old.unload()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = get_peft_model(base, LoraConfig(r=cfg.r, lora_alpha=cfg.lora_alpha,
                                              lora_dropout=cfg.lora_dropout,
                                              target_modules=targets or TARGETS,
                                              task_type="CAUSAL_LM"))
    state = new.state_dict()
    copied = 0
    for k, v in old_state.items():
        if k in state:
            state[k] = v
            copied += 1
    assert copied == len(old_state), (copied, len(old_state))
    new.load_state_dict(state)
    model.llm = new
    return model.save_pretrained(out)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(widen_adapter(sys.argv[1], sys.argv[2]))
