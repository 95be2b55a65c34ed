"""AudioLDM (``diffusers-audioldm``): ``AudioLDMPipeline`` from a folder laid out like
``cvssp/audioldm-l-full``.

AudioLDM is conditioned on one pooled CLAP text embedding (the UNet's class embedding), so the
conditioning is one token: ``(1, projection_dim)`` (512 for the released models), L2-normalised as
the pipeline does. The output projector emits that token; ``generate`` hands the pipeline its
``(B, projection_dim)`` ``prompt_embeds``. The diffusion loss runs on AudioLDM's own input: the
log-magnitude mel spectrogram (vocoder rate, hop = the vocoder's upsampling, ``model_in_dim``
mel bins, 0 Hz to Nyquist) through the frozen VAE.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from omniweave.config import DecoderConfig
from omniweave.decoders import Medium
from omniweave.decoders._common import DiffusersDecoder, generator, noise_loss
from omniweave.media import Audio

N_FFT = 1024


class AudioLDMDecoder(DiffusersDecoder):
    modality = "audio"
    pipeline_class = "AudioLDMPipeline"

    def setup(self, cfg: DecoderConfig) -> None:
        pipe = self.pipe
        self.conditioning_shape = (1, pipe.text_encoder.config.projection_dim)
        voc = pipe.vocoder.config
        self.rate, self.hop, self.n_mels = voc.sampling_rate, int(np.prod(voc.upsample_rates)), voc.model_in_dim
        self.frames = pipe.unet.config.sample_size * pipe.vae_scale_factor  # the default length
        if cfg.audio_length_s:
            frames = int(cfg.audio_length_s * self.rate / self.hop)
            self.frames = -(-frames // pipe.vae_scale_factor) * pipe.vae_scale_factor
        self.audio_length_s = cfg.audio_length_s or self.frames * self.hop / self.rate

    @torch.no_grad()
    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        embeds = self.pipe._encode_prompt(captions, self.device, 1, False)  # (B, D), normalised
        return embeds.float().cpu()[:, None]  # (B, 1, D)

    def _log_mel(self, audio: list[Audio]) -> torch.Tensor:
        """(B, 1, frames, n_mels) log-magnitude mel spectrograms, as AudioLDM's VAE reads them."""
        from transformers.audio_utils import mel_filter_bank

        fb = torch.from_numpy(mel_filter_bank(
            num_frequency_bins=N_FFT // 2 + 1, num_mel_filters=self.n_mels, min_frequency=0.0,
            max_frequency=self.rate / 2, sampling_rate=self.rate, norm="slaney",
            mel_scale="slaney").astype(np.float32))  # (freq, mels)
        n = self.frames * self.hop
        waves = [a.resample(self.rate).samples[:n] for a in audio]
        waves = torch.stack([torch.from_numpy(np.pad(w, (0, n - len(w)))) for w in waves])
        spec = torch.stft(waves, N_FFT, self.hop, N_FFT, torch.hann_window(N_FFT), center=True,
                          pad_mode="reflect" if n > N_FFT // 2 else "constant",
                          return_complex=True).abs()  # (B, freq, frames + 1)
        mel = torch.log(torch.clamp(spec.transpose(1, 2) @ fb, min=1e-5))  # (B, frames + 1, mels)
        return mel[:, None, : self.frames]

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        pipe = self.pipe
        with torch.no_grad():
            mel = self._log_mel(media).to(self.device, self.dtype)
            x0 = pipe.vae.encode(mel).latent_dist.sample() * pipe.vae.config.scaling_factor

        def denoise(noisy, t, cond):
            cond = F.normalize(cond.flatten(1).float(), dim=-1).to(self.device, self.dtype)
            return pipe.unet(noisy, t, encoder_hidden_states=None, class_labels=cond).sample

        return noise_loss(self.noise, denoise, x0, prompt_embeds).to(prompt_embeds.device)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 50, guidance: float = 2.5,
                 seed: int | list[int] = 0) -> list[Medium]:
        cond = F.normalize(prompt_embeds.flatten(1).float(), dim=-1)  # (B, D)
        out = self.pipe(prompt_embeds=cond.to(self.device, self.dtype), num_inference_steps=steps,
                        guidance_scale=guidance, audio_length_in_s=self.audio_length_s,
                        generator=generator(seed), output_type="np")
        return [Audio(np.clip(np.nan_to_num(a), -1, 1).astype(np.float32), self.rate)
                for a in out.audios]
