import pytest

from omniweave.config import InputProjectorConfig, ModelConfig, load_preset
from omniweave.errors import InputError


def test_nano_preset_loads_typed():
    cfg = load_preset("nano")
    assert isinstance(cfg, ModelConfig) and cfg.name == "nano"
    assert {m: c.signal_tokens for m, c in cfg.modalities.items()} == {"image": 4, "audio": 8, "video": 24}
    assert isinstance(cfg.modalities["image"].input_projector, InputProjectorConfig)
    assert cfg.signal_token_names("audio")[-1] == "[AUD7]"


def test_overrides_apply_and_are_checked():
    cfg = load_preset("nano", ["modalities.image.signal_tokens=2",
                               "modalities.image.input_projector.kind=mapper"])
    assert cfg.modalities["image"].signal_tokens == 2
    assert cfg.modalities["image"].input_projector.kind == "mapper"
    with pytest.raises(InputError, match="unknown config key modalities.image.signal_tokenz"):
        load_preset("nano", ["modalities.image.signal_tokenz=2"])
    with pytest.raises(InputError, match="input_projector.kind: 'qformerx' is not one of"):
        load_preset("nano", ["modalities.image.input_projector.kind=qformerx"])
    with pytest.raises(InputError, match="expected int"):
        load_preset("nano", ["modalities.audio.signal_tokens=many"])
    # YAML 1.1 reads 5e-4 (no dot) as a string; a float field takes it as the number it is
    assert load_preset("nano", ["stages.3.lr=5e-4"]).stages["3"].lr == 5e-4
    with pytest.raises(InputError, match="expected float"):
        load_preset("nano", ["stages.3.lr=fast"])


def test_unknown_preset_lists_known_ones():
    with pytest.raises(InputError, match="known presets: nano"):
        load_preset("nextgpt-13b-typo")


def test_perception_switch_reads_a_bare_off():
    cfg = load_preset("nano-perception", ["modalities.image.perception=off"])
    assert cfg.modalities["image"].perception == "off"
    assert load_preset("nano-perception").modalities["image"].perception == "interactive"
    assert load_preset("nano").modalities["image"].perception == "off"
