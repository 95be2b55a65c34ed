import pytest
import torch

from omniweave.nano import judges, world
from omniweave.nano.components import component_dir, require_component
from omniweave.nano.decoders import shipped_decoder
from omniweave.nano.mel import audio_to_mel, mel_to_audio
from omniweave.nano.recipes import decoder as recipe

# Regression floors for the shipped weights on a small sample (every attribute right, and per
# attribute); the bars (image 95%, audio 90%, video 80% over 200) are measured by
# `omniweave nano eval`.
RELAXED_FLOORS = {
    "image": {"all": 0.8, "color": 0.9, "size": 0.9, "shape": 0.8, "position": 0.9},
    "audio": {"all": 0.75, "rhythm": 0.9, "pitch": 0.9, "timbre": 0.75},
    "video": {"all": 0.75, "color": 0.9, "shape": 0.75, "direction": 0.9},
}


def built(modality: str) -> bool:
    return (component_dir(f"{modality}-decoder") / "manifest.json").exists()


@pytest.mark.parametrize("modality", world.MODALITIES)
def test_shipped_decoder_meets_relaxed_bar(modality):
    if not built(modality):
        pytest.skip(f"{modality} decoder not built")
    metrics = recipe.evaluate(require_component(f"{modality}-decoder"), n=12, seed=321, batch=12)
    for attribute, floor in RELAXED_FLOORS[modality].items():
        assert metrics[f"{attribute}_accuracy"] >= floor, metrics


@pytest.mark.skipif(not built("image"), reason="image decoder not built")
def test_prompt_embeds_drive_the_pipeline():
    pipe = shipped_decoder("image")
    caption = "a large green square on the right"
    embeds = pipe.encode_prompt(caption)
    assert embeds.shape == (1, *pipe.conditioning_shape)
    a = pipe(caption, num_inference_steps=8, generator=torch.Generator().manual_seed(0))
    b = pipe(prompt_embeds=embeds, num_inference_steps=8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a.samples, b.samples)
    with pytest.raises(ValueError, match="prompt_embeds must be"):
        pipe(prompt_embeds=embeds[:, :3], num_inference_steps=2)
    with pytest.raises(ValueError, match="exactly one"):
        pipe(caption, prompt_embeds=embeds)


def test_vocoder_keeps_every_audio_attribute():
    specs = world.all_specs("audio")
    mels = torch.stack([audio_to_mel(world.render(s, 5).samples) for s in specs])
    waves = mel_to_audio(mels)
    assert all(judges.all_correct(s, w.numpy()) for s, w in zip(specs, waves, strict=True))


@pytest.mark.parametrize("modality", world.MODALITIES)
def test_recipe_runs(tmp_path, modality):
    metrics = recipe.build(tmp_path, modality=modality, steps=2, batch_size=2, pool=4,
                           eval_samples=2, tokenizer_dir=require_component("tokenizer"))
    assert metrics["eval_samples"] == 2 and "all_accuracy" in metrics
    assert (tmp_path / "model_index.json").exists()
