"""Tiny random models of the real classes, saved as the real checkpoints are laid out.

Each builder writes one folder with ``save_pretrained`` (the same files a user's download holds)
and returns it; every config is a few kilobytes of weights so the whole set builds in seconds.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from omniweave.nano.components import WEIGHTS_DIR

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
          " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|im_start|>assistant\n' }}{% endif %}")


def _byte_alphabet() -> list[str]:
    from tokenizers.pre_tokenizers import ByteLevel

    return sorted(ByteLevel.alphabet())


def _text_tokenizer(chat_template: str | None, chatml: bool = False):
    """The nano byte-level BPE tokenizer, with the given chat template (or none)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(WEIGHTS_DIR / "tokenizer")
    if chatml:
        tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
        tok.eos_token = "<|im_end|>"
    tok.chat_template = chat_template
    return tok


def llama(out: Path, chat_template: bool = False) -> Path:
    """A Vicuna-like folder: LlamaForCausalLM + a tokenizer without a chat template (Vicuna v1.5
    ships none), or with the nano Vicuna template when ``chat_template``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    template = (WEIGHTS_DIR / "tokenizer" / "chat_template.jinja").read_text() if chat_template else None
    tok = _text_tokenizer(template)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def qwen2(out: Path) -> Path:
    """A Qwen2.5-Instruct-like folder: Qwen2ForCausalLM + a tokenizer with a ChatML template."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = _text_tokenizer(CHATML, chatml=True)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tok) + 7, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


_VISION = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
               image_size=32, patch_size=8)
_TEXT = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
             vocab_size=100, max_position_embeddings=16, bos_token_id=0, eos_token_id=2,
             pad_token_id=1)


def clip(out: Path) -> Path:
    """Like openai/clip-vit-large-patch14: a full CLIPModel with its image processor."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=dict(_TEXT, max_position_embeddings=77), vision_config=_VISION,
                         projection_dim=16)).save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": 32},
                       crop_size={"height": 32, "width": 32}).save_pretrained(out)
    return out


def siglip(out: Path) -> Path:
    """Like google/siglip-so400m-patch14-384: a full SiglipModel with its image processor."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    torch.manual_seed(0)
    SiglipModel(SiglipConfig(text_config=_TEXT, vision_config=_VISION)).save_pretrained(out)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(out)
    return out


def _clap_config(projection_dim: int = 16):
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    text = ClapTextConfig(hidden_size=16, intermediate_size=37, num_attention_heads=2,
                          num_hidden_layers=2, vocab_size=300, bos_token_id=0, eos_token_id=2,
                          pad_token_id=1, max_position_embeddings=80, projection_dim=projection_dim)
    audio = ClapAudioConfig(spec_size=64, window_size=4, num_mel_bins=64, intermediate_size=37,
                            depths=[2, 2], num_attention_heads=[2, 2], num_hidden_layers=2,
                            hidden_size=192, patch_size=2, patch_stride=2,
                            patch_embed_input_channels=4, projection_dim=projection_dim)
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(),
                      projection_dim=projection_dim)


def _roberta_tokenizer():
    from transformers import RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for c in _byte_alphabet():
        vocab.setdefault(c, len(vocab))
    vocab["<mask>"] = len(vocab)
    tok = RobertaTokenizer(vocab=vocab, merges=[])
    tok.model_max_length = 77
    return tok


def clap(out: Path) -> Path:
    """Like laion/clap-htsat-unfused: ClapModel + ClapProcessor (feature extractor + tokenizer)."""
    from transformers import ClapFeatureExtractor, ClapModel, ClapProcessor

    torch.manual_seed(0)
    ClapModel(_clap_config()).save_pretrained(out)
    fe = ClapFeatureExtractor(feature_size=64, sampling_rate=48_000, hop_length=7900,
                              max_length_s=2, fft_window_size=1024)
    ClapProcessor(feature_extractor=fe, tokenizer=_roberta_tokenizer()).save_pretrained(out)
    return out


def _clip_tokenizer():
    from transformers import CLIPTokenizer

    chars = _byte_alphabet()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    tok.model_max_length = 77
    return tok


def _clip_text(width: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(hidden_size=width, intermediate_size=37, num_hidden_layers=2,
                                        num_attention_heads=4, vocab_size=520,
                                        max_position_embeddings=77, bos_token_id=512,
                                        eos_token_id=513, pad_token_id=513))


def _vae(channels: int = 3):
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=[8, 16], in_channels=channels, out_channels=channels,
                         down_block_types=["DownEncoderBlock2D"] * 2,
                         up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4,
                         norm_num_groups=4, sample_size=32)


def _ddim():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         clip_sample=False, set_alpha_to_one=False, steps_offset=1)


def stable_diffusion(out: Path, width: int = 32) -> Path:
    """Like stable-diffusion-v1-5: UNet2DConditionModel, AutoencoderKL, CLIPTextModel (77 tokens of
    ``width``), CLIPTokenizer, a scheduler; no safety checker."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=16,
                                in_channels=4, out_channels=4, norm_num_groups=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                cross_attention_dim=width, attention_head_dim=4)
    pipe = StableDiffusionPipeline(vae=_vae(), text_encoder=_clip_text(width), tokenizer=_clip_tokenizer(),
                                   unet=unet, scheduler=_ddim(), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(out)
    return out


def audioldm(out: Path) -> Path:
    """Like cvssp/audioldm-l-full: CLAP text encoder (pooled, projected), a class-conditioned
    UNet, a 1-channel VAE over log-mel, a SpeechT5HifiGan vocoder."""
    from diffusers import AudioLDMPipeline, UNet2DConditionModel
    from transformers import ClapTextModelWithProjection, SpeechT5HifiGan, SpeechT5HifiGanConfig

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=8,
                                in_channels=4, out_channels=4, norm_num_groups=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                cross_attention_dim=(8, 16), class_embed_type="simple_projection",
                                projection_class_embeddings_input_dim=16, class_embeddings_concat=True,
                                attention_head_dim=4)
    text = ClapTextModelWithProjection(_clap_config().text_config)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=16, sampling_rate=16000, upsample_initial_channel=16, upsample_rates=[2, 2],
        upsample_kernel_sizes=[4, 4], resblock_kernel_sizes=[3, 7],
        resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]], normalize_before=False))
    pipe = AudioLDMPipeline(vae=_vae(1), text_encoder=text, tokenizer=_roberta_tokenizer(),
                            unet=unet, scheduler=_ddim(), vocoder=vocoder)
    pipe.save_pretrained(out)
    return out


def text_to_video(out: Path, width: int = 32) -> Path:
    """Like cerspense/zeroscope_v2_576w: UNet3DConditionModel, AutoencoderKL, CLIPTextModel."""
    from diffusers import TextToVideoSDPipeline, UNet3DConditionModel

    torch.manual_seed(0)
    unet = UNet3DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=16,
                                in_channels=4, out_channels=4, norm_num_groups=4,
                                down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                                up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
                                cross_attention_dim=width, attention_head_dim=4)
    pipe = TextToVideoSDPipeline(vae=_vae(), text_encoder=_clip_text(width),
                                 tokenizer=_clip_tokenizer(), unet=unet, scheduler=_ddim())
    pipe.save_pretrained(out)
    return out


BUILDERS = {"vicuna": llama, "llama-chat": lambda out: llama(out, chat_template=True),
            "qwen2": qwen2, "clip": clip, "siglip": siglip, "clap": clap,
            "sd": stable_diffusion, "audioldm": audioldm, "t2v": text_to_video}


def build_all(root: Path) -> dict[str, Path]:
    """Every tiny component under ``root``, by name."""
    return {name: build(root / name) for name, build in BUILDERS.items()}


def tiny_preset(models: dict[str, Path], llm: str = "qwen2", **stages) -> dict:
    """A preset over the tiny models: Qwen2 (ChatML) or Vicuna-like LLM, SigLIP (tokens, mapper)
    for images, CLIP frames for video, CLAP for audio, SD / AudioLDM / text-to-video decoders."""
    small = {"hidden_size": 32, "num_layers": 1, "num_heads": 2}
    return {
        "name": "tiny-real", "device": "cpu",
        "llm": {"path": str(models[llm]), "max_length": 256},
        "modalities": {
            "image": {"encoder": {"kind": "hf-clip", "path": str(models["siglip"]), "features": "tokens"},
                      "input_projector": {"kind": "mapper", "num_tokens": 2, "hidden_size": 32,
                                          "num_layers": 1},
                      "signal_tokens": 4, "output_projector": small,
                      "decoder": {"kind": "diffusers-sd", "path": str(models["sd"]), "steps": 2,
                                  "guidance": 3.0}},
            "audio": {"encoder": {"kind": "hf-clap", "path": str(models["clap"])},
                      "input_projector": {"kind": "mlp", "num_tokens": 1, "hidden_size": 32},
                      "signal_tokens": 8, "output_projector": small,
                      "decoder": {"kind": "diffusers-audioldm", "path": str(models["audioldm"]),
                                  "steps": 2, "guidance": 2.0}},
            "video": {"encoder": {"kind": "hf-clip", "path": str(models["clip"]), "frames": 2},
                      "input_projector": {"kind": "mlp", "num_tokens": 1, "hidden_size": 32},
                      "signal_tokens": 6, "output_projector": small,
                      "decoder": {"kind": "diffusers-t2v", "path": str(models["t2v"]), "steps": 2,
                                  "guidance": 3.0, "num_frames": 2}},
        },
        "stages": stages,
    }


def write_preset(tree: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path
