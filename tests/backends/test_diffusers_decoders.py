"""Stable Diffusion, AudioLDM and text-to-video pipelines driven by ``prompt_embeds``: the
conditioning shape, caption embeddings, the diffusion loss and generation; built once."""

import numpy as np
import pytest
import torch

from omniweave.config import DecoderConfig
from omniweave.decoders import build_decoder
from omniweave.media import Audio, Image, Video

CASES = {
    "diffusers-sd": ("sd", (77, 32), Image(np.full((48, 40, 3), 90, np.uint8))),
    "diffusers-audioldm": ("audioldm", (1, 16), Audio(np.full(900, 0.1, np.float32), 8000)),
    "diffusers-t2v": ("t2v", (77, 32), Video(np.full((5, 40, 48, 3), 90, np.uint8), 8.0)),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_decoder_conditions_on_prompt_embeds(tiny_models, kind):
    name, shape, medium = CASES[kind]
    cfg = DecoderConfig(kind=kind, path=str(tiny_models[name]), num_frames=2)
    dec = build_decoder(cfg)
    assert build_decoder(DecoderConfig(kind=kind, path=str(tiny_models[name]), num_frames=2)) is dec
    assert dec.conditioning_shape == shape
    emb = dec.caption_embeddings(["a dog barks", "rain on a roof"])
    assert emb.shape == (2, *shape) and emb.dtype == torch.float32
    assert dec.caption_fits("a dog barks") and not dec.caption_fits("word " * 200)
    cond = emb.clone().requires_grad_(True)
    loss = dec.diffusion_loss(cond, [medium, medium])
    loss.backward()
    assert torch.isfinite(loss) and cond.grad.abs().sum() > 0
    assert all(p.grad is None for p in dec.pipe.unet.parameters())  # the decoder stays frozen
    out = dec.generate(emb, steps=2, guidance=3.0, seed=0)
    assert len(out) == 2 and type(out[0]) is type(medium)
    again = dec.generate(emb[:1], steps=2, guidance=3.0, seed=0)[0]
    for a, b in zip(vars(out[0]).values(), vars(again).values(), strict=True):
        # a seed gives the same medium, alone or in a batch (up to float noise)
        tolerance = 1 if np.asarray(a).dtype == np.uint8 else 1e-5
        assert np.abs(np.asarray(a, float) - np.asarray(b, float)).max() <= tolerance
    if kind == "diffusers-t2v":
        assert out[0].frames.shape[0] == 2 and out[0].fps == 8.0
    if kind == "diffusers-audioldm":
        assert out[0].sample_rate == 16000


def test_other_options_share_the_loaded_pipeline(tiny_models):
    a = build_decoder(DecoderConfig(kind="diffusers-sd", path=str(tiny_models["sd"])))
    b = build_decoder(DecoderConfig(kind="diffusers-sd", path=str(tiny_models["sd"]), height=16, width=24))
    assert a is not b and a.pipe is b.pipe
    assert b.generate(torch.zeros(1, 77, 32), steps=1, guidance=1.0, seed=0)[0].pixels.shape == (16, 24, 3)
