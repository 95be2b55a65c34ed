"""Real-size speed with random weights: omniweave against bare transformers + bare diffusers.

Builds, from configs in code (nothing is downloaded), a 7B-shaped Llama (Vicuna-7B: 4096 wide,
32 layers, 32 heads, 11008 MLP, 32000 vocab; bf16) and a Stable Diffusion 1.5-shaped pipeline
(UNet 320/640/1280/1280 with 768-wide cross-attention, the 4-channel VAE, a 12-layer CLIP text
encoder; fp16), wraps them in an omniweave any-to-any model (text in, image out) and measures:

- LLM decode tokens/s: ``AnyToAny.generate`` (text only) vs ``transformers`` ``generate`` on the
  same prompt, the same number of new tokens, greedy, KV cache;
- one text->image reply: omniweave writes ``--text-tokens`` tokens, then the image's signal tokens
  (scripted, as random weights never choose them), the output projector maps their states to
  77x768 and the pipeline draws ``--size`` px in ``--steps`` steps; vs bare ``generate`` of as many
  tokens plus the bare ``StableDiffusionPipeline`` on the same conditioning, seed and settings.

Prints a table (median of ``--repeats`` runs after a warm-up) with the machine it ran on; the
overhead ratio is omniweave's time over the bare libraries' time.

    python bench/real_size.py                 # GPU: 7B + SD 1.5 shapes, 512 px, 50 steps
    python bench/real_size.py --tiny          # CPU check: tiny shapes, same code path
    python bench/real_size.py --json out.json # also write the figures
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from omniweave.config import DecoderConfig, ModalityConfig, ModelConfig, OutputProjectorConfig  # noqa: E402
from omniweave.nano.components import WEIGHTS_DIR  # noqa: E402

SD15_UNET = dict(  # stable-diffusion-v1-5/unet/config.json
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                      "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    norm_num_groups=32, act_fn="silu", center_input_sample=False, flip_sin_to_cos=True, freq_shift=0)
SD15_VAE = dict(  # stable-diffusion-v1-5/vae/config.json
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32, act_fn="silu",
    scaling_factor=0.18215)
SD15_TEXT = dict(  # stable-diffusion-v1-5/text_encoder/config.json (CLIP ViT-L/14 text)
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
    num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
    bos_token_id=0, eos_token_id=2, pad_token_id=1)
LLAMA_7B = dict(  # lmsys/vicuna-7b-v1.5/config.json
    vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
    num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
    rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)

TINY_UNET = dict(SD15_UNET, sample_size=8, layers_per_block=1, block_out_channels=(32, 64),
                 cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8,
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
TINY_VAE = dict(SD15_VAE, sample_size=32, layers_per_block=1, block_out_channels=(16, 32),
                down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                norm_num_groups=8)
TINY_TEXT = dict(SD15_TEXT, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, vocab_size=520)
TINY_LLAMA = dict(LLAMA_7B, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4)


def clip_tokenizer():
    """A byte-level CLIPTokenizer (the text encoder only reads the empty negative prompt here)."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    chars = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    tok.model_max_length = 77
    return tok


def build_pipeline(tiny: bool, device: torch.device, dtype: torch.dtype):
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(**(TINY_UNET if tiny else SD15_UNET))
        vae = AutoencoderKL(**(TINY_VAE if tiny else SD15_VAE))
        text = CLIPTextModel(CLIPTextConfig(**(TINY_TEXT if tiny else SD15_TEXT)))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=clip_tokenizer(), unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    for module in (unet, vae, text):
        module.eval().requires_grad_(False)
    return pipe


def build_llm(tiny: bool, device: torch.device, dtype: torch.dtype):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(WEIGHTS_DIR / "tokenizer")  # Vicuna template, < 32000 ids
    config = LlamaConfig(**(TINY_LLAMA if tiny else LLAMA_7B), bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # initialise in bf16 on the device: no fp32 copy of 7B
    try:
        with torch.device(device):
            llm = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    return llm.eval().requires_grad_(False), tok


class _NoEncoder:
    """Text in only: the image input projector needs a width, never features."""
    feature_width = 1024


def build_model(tiny: bool, device: torch.device):
    from omniweave.decoders.diffusers_sd import StableDiffusionDecoder
    from omniweave.model import AnyToAny

    llm_dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    sd_dtype = torch.float32 if device.type == "cpu" else torch.float16
    llm, tok = build_llm(tiny, device, llm_dtype)
    pipe = build_pipeline(tiny, device, sd_dtype)
    dec_cfg = DecoderConfig(kind="diffusers-sd", path="(in memory)",
                            dtype="float16" if sd_dtype == torch.float16 else "float32")
    decoder = StableDiffusionDecoder(dec_cfg, str(device), pipe=pipe)
    out_proj = OutputProjectorConfig(hidden_size=64 if tiny else 512, num_layers=1 if tiny else 4,
                                     num_heads=4)
    cfg = ModelConfig(name="real-size", device=str(device),
                      modalities={"image": ModalityConfig(signal_tokens=4, output_projector=out_proj,
                                                          decoder=dec_cfg)})
    cfg.llm.max_length = 4096
    torch.manual_seed(0)
    model = AnyToAny(cfg, llm, tok, {"image": _NoEncoder()}, {"image": decoder}).eval()
    return model, llm, tok, pipe


@dataclass
class Script:
    """Replaces ``omniweave.model._sample``: greedy for ``text`` tokens (never EOS, never an extra
    token), then the image's first signal token (the model adds the rest), then EOS."""
    text: int
    first_signal: int | None
    eos: int
    vocab: int
    step: int = 0

    def __call__(self, logits, temperature, top_p, gen):
        k, self.step = self.step, self.step + 1
        b = logits.shape[0]
        if k < self.text or self.first_signal is None:
            base = logits[:, : self.vocab].clone()
            base[:, self.eos] = float("-inf")
            return base.argmax(-1)
        if k == self.text:
            return torch.full((b,), self.first_signal, dtype=torch.long)
        return torch.full((b,), self.eos, dtype=torch.long)


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def median_time(fn, device, repeats: int) -> float:
    timed(fn, device)  # warm-up
    return statistics.median(timed(fn, device) for _ in range(repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny shapes (a CPU check of the script)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--tokens", type=int, default=128, help="new tokens for the decode figure")
    ap.add_argument("--text-tokens", type=int, default=32, help="reply text before the image")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    if args.tiny:
        args.steps, args.size = min(args.steps, 4), 32
        args.tokens, args.text_tokens = min(args.tokens, 16), min(args.text_tokens, 8)
        args.repeats = min(args.repeats, 2)
    from omniweave import model as model_module
    from omniweave.hub import pick_device

    device = pick_device(args.device)
    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)")
    t0 = time.perf_counter()
    model, llm, tok, pipe = build_model(args.tiny, device)
    build_s = time.perf_counter() - t0
    decoder = model.decoders["image"]
    decoder.height = decoder.width = args.size
    messages = [{"role": "user", "content": "draw a lighthouse on a cliff at dusk, oil painting"}]
    prompt_ids = torch.tensor([model.processor.encode(messages, generation_prompt=True).input_ids],
                              device=device)
    vocab, eos = llm.config.vocab_size, tok.eos_token_id
    real_sample = model_module._sample
    first_signal = model.layout.signal_ids(model.cfg, "image")[0]
    rows = []

    # --- decode tokens/s (text only) ---------------------------------------------------------
    def ow_decode():
        model_module._sample = Script(args.tokens, None, eos, vocab)
        model.generate(messages, max_new_tokens=args.tokens, make_media=False)

    def bare_decode():
        llm.generate(prompt_ids, attention_mask=torch.ones_like(prompt_ids), do_sample=False,
                     max_new_tokens=args.tokens, min_new_tokens=args.tokens,
                     pad_token_id=tok.pad_token_id)

    try:
        ow_s = median_time(ow_decode, device, args.repeats)
    finally:
        model_module._sample = real_sample
    bare_s = median_time(bare_decode, device, args.repeats)
    rows.append(("LLM decode, tokens/s", args.tokens / ow_s, args.tokens / bare_s, ow_s / bare_s))

    # --- one text -> image reply ----------------------------------------------------------------
    signals = model.cfg.modalities["image"].signal_tokens
    reply_tokens = args.text_tokens + signals + 1
    captured = {}
    real_generate = decoder.generate

    def keep_condition(prompt_embeds, **kw):
        captured["cond"] = prompt_embeds.detach()
        return real_generate(prompt_embeds, **kw)

    def ow_reply():
        model_module._sample = Script(args.text_tokens, first_signal, eos, vocab)
        decoder.generate = keep_condition
        try:
            reply = model.generate(messages, max_new_tokens=reply_tokens, steps=args.steps,
                                   guidance=args.guidance, seed=0)
        finally:
            model_module._sample = real_sample
            decoder.generate = real_generate
        assert len(reply.media) == 1, "the scripted reply must make one image"

    ow_s = median_time(ow_reply, device, args.repeats)
    cond = captured["cond"].to(device, pipe.unet.dtype)

    def bare_reply():
        llm.generate(prompt_ids, attention_mask=torch.ones_like(prompt_ids), do_sample=False,
                     max_new_tokens=reply_tokens, min_new_tokens=reply_tokens,
                     pad_token_id=tok.pad_token_id)
        pipe(prompt_embeds=cond, num_inference_steps=args.steps, guidance_scale=args.guidance,
             height=args.size, width=args.size, generator=torch.Generator().manual_seed(0),
             output_type="np")

    bare_s = median_time(bare_reply, device, args.repeats)
    rows.append((f"text->image reply ({args.text_tokens}+{signals} tokens, {args.size}px, "
                 f"{args.steps} steps), s", ow_s, bare_s, ow_s / bare_s))

    shape = "tiny shapes" if args.tiny else "Llama-7B (bf16) + SD 1.5 (fp16) shapes, random weights"
    print(f"machine: {machine}; torch {torch.__version__}; {shape}; built in {build_s:.1f}s")
    print("| measure | omniweave | bare transformers + diffusers | time ratio (omniweave / bare) |")
    print("| --- | --- | --- | --- |")
    for name, ow, bare, ratio in rows:
        print(f"| {name} | {ow:.3g} | {bare:.3g} | {ratio:.3f} |")
    print("(the ratio compares times: above 1, omniweave takes longer than the bare libraries)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "torch": torch.__version__, "tiny": args.tiny,
                       "device": str(device), "steps": args.steps, "size": args.size,
                       "rows": [dict(zip(("measure", "omniweave", "bare", "ratio"), r, strict=True))
                                for r in rows]}, f, indent=2)


if __name__ == "__main__":
    main()
