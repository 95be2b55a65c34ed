"""Typed configuration: one dataclass tree per runnable system, loaded from YAML presets.

A preset (``omniweave/presets/<name>.yaml``) names every component of an any-to-any model;
``--set key.path=value`` overrides any field. Unknown keys are errors that name the key.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from omniweave.errors import InputError

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
Modality = Literal["image", "audio", "video"]
MODALITIES: tuple[str, ...] = ("image", "audio", "video")


Dtype = Literal["float32", "bfloat16", "float16"]


@dataclass
class EncoderConfig:
    """A frozen media encoder. ``kind`` picks the backend: ``nano-bind`` (ShapeBind), ``hf-clip``
    (CLIP or SigLIP vision: images, and video as sampled frames), ``hf-clap`` (CLAP audio),
    ``imagebind`` (needs the ``imagebind`` package)."""
    kind: str = "nano-bind"
    # ``nano:<component>`` (shipped), a local folder, or a Hugging Face repo id (from the HF cache)
    path: str = "nano:bind"
    features: Literal["pooled", "tokens"] = "pooled"
    dtype: Dtype = "float32"
    frames: int = 8  # video: frames sampled uniformly, encoded as images, pooled over time


@dataclass
class InputProjectorConfig:
    """Maps encoder features to ``num_tokens`` LLM embeddings per medium."""
    kind: Literal["linear", "mlp", "mapper", "qformer"] = "mlp"
    num_tokens: int = 1
    hidden_size: int = 256  # mlp / mapper / qformer width
    num_layers: int = 2  # mapper / qformer transformer layers
    boundary_tokens: bool = True  # frame the medium's tokens with [boi]/[eoi]-style markers


@dataclass
class OutputProjectorConfig:
    """Maps signal-token hidden states to a decoder's conditioning sequence (NExT-GPT design)."""
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4


@dataclass
class DecoderConfig:
    """A frozen diffusion decoder. ``kind``: ``nano-diffusion``, ``diffusers-sd`` (Stable Diffusion
    1.x/2.x), ``diffusers-audioldm`` (AudioLDM), ``diffusers-t2v`` (text-to-video SD / ZeroScope)."""
    kind: str = "nano-diffusion"
    path: str = "nano:image-decoder"  # as EncoderConfig.path
    steps: int = 20
    guidance: float = 4.0
    dtype: Dtype = "float32"
    height: int = 0  # image/video size in pixels; 0: the pipeline's default
    width: int = 0
    num_frames: int = 0  # video frames; 0: the pipeline's default
    fps: float = 8.0  # video frame rate of the generated clips
    audio_length_s: float = 0.0  # audio length; 0: the pipeline's default


@dataclass
class InteractionConfig:
    """Interactive perception (LMEye): ``requests`` request vectors from the LLM's state at the
    request slot attend to the encoder's token features; as many detail vectors come back."""
    requests: int = 4  # K: request vectors, and detail slots in the prompt
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    # how detail vectors enter the LLM: ``vocabulary``: each is a softmax mixture of the LLM's own
    # word embeddings (soft words a frozen LLM reads from the first step); ``linear``: a free
    # projection, scaled to the size of the word embeddings
    output: Literal["vocabulary", "linear"] = "vocabulary"


@dataclass
class ModalityConfig:
    """Everything one modality needs, input side and output side."""
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    input_projector: InputProjectorConfig = field(default_factory=InputProjectorConfig)
    # ``interactive``: the LLM asks for detail after reading the question (see omniweave.perception)
    perception: Literal["off", "interactive"] = "off"
    interaction: InteractionConfig = field(default_factory=InteractionConfig)
    signal_tokens: int = 4
    max_inputs: int = 4  # media of this modality one conversation may hold
    output_projector: OutputProjectorConfig = field(default_factory=OutputProjectorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)


def needs_tokens(mc: ModalityConfig) -> bool:
    """Whether a modality's features go in as tokens (B, L, F) rather than pooled (B, F): the
    token-reading projectors and interactive perception need them (the one place this is decided)."""
    return mc.input_projector.kind in ("mapper", "qformer") or mc.perception == "interactive"


@dataclass
class LLMConfig:
    """Any transformers causal LM with its tokenizer (``path`` as EncoderConfig.path)."""
    path: str = "nano:llm"
    dtype: Dtype = "float32"
    max_length: int = 512
    # a Jinja chat template that replaces the tokenizer's own; with neither, a Vicuna v1.1 template
    chat_template: str = ""
    gradient_checkpointing: bool = False  # in training: recompute activations, less memory
    load_in_4bit: bool = False  # bitsandbytes quantisation (needs CUDA and bitsandbytes)
    load_in_8bit: bool = False
    attn_implementation: str = ""  # e.g. sdpa, flash_attention_2; empty: the transformers default
    # numbers read one digit per token, as Llama's and Qwen's tokenizers split them (the nano
    # tokenizer merges "440" into one token; copying numbers then means learning each one)
    split_digits: bool = False


Trainable = Literal["frozen", "full", "lora"]
# The parts of an AnyToAny a stage can train (see ``StageConfig.trainable``).
TRAINABLE_PARTS = ("llm", "input_projectors", "output_projectors", "signal_tokens", "perception")


@dataclass
class LoraConfig:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    # whole modules trained beside the adapter and saved in it (peft), e.g. embed_tokens, lm_head
    modules_to_save: list[str] = field(default_factory=list)


@dataclass
class StageConfig:
    """One training stage: its data, what trains (the trainable map), losses and optimiser."""
    description: str = ""
    # ``nano:pairs``, ``nano:instructions``, ``nano:scenes``, ``nano:tools``, ``nano:numbers``,
    # caption-pair files (cc3m/audiocap/webvid .json) or conversation files (.json/.jsonl); pairs
    # become conversations as ``pair_task`` says
    data: list[str] = field(default_factory=list)
    pair_task: Literal["x2t", "t2x"] = "x2t"
    trainable: dict[str, Trainable] = field(default_factory=dict)  # part -> frozen | full | lora
    lora: LoraConfig = field(default_factory=LoraConfig)
    steps: int = 500
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 30
    lm_weight: float = 1.0
    l2_weight: float = 1.0  # output projector vs the decoder's caption embedding
    diffusion_weight: float = 0.0  # noise-prediction loss through the frozen decoder (off)
    detail_weight: float = 0.0  # interactive perception: the detail-word loss (perception.detail_word_loss)
    checkpoint_every: int = 200
    group_by_length: bool = False  # batches of similar-length examples (less padding to run)
    # batch_size is per process: one optimiser step sees batch_size x processes x accumulation
    gradient_accumulation_steps: int = 1
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"


@dataclass
class ModelConfig:
    name: str = "nano"
    checkpoint: str = ""  # the trained any-to-any weights this preset ships with, if any
    # where the LLM, projectors and the hf/diffusers encoders and decoders run: cpu, cuda, cuda:1,
    # or auto (this process's GPU when there is one); the nano components always run on the CPU
    device: str = "cpu"
    llm: LLMConfig = field(default_factory=LLMConfig)
    modalities: dict[str, ModalityConfig] = field(default_factory=dict)
    stages: dict[str, StageConfig] = field(default_factory=dict)

    def signal_token_names(self, modality: str) -> list[str]:
        """``[IMG0]``..``[IMG3]``, ``[AUD0]``.., ``[VID0]``.. as NExT-GPT names them."""
        prefix = {"image": "IMG", "audio": "AUD", "video": "VID"}[modality]
        return [f"[{prefix}{i}]" for i in range(self.modalities[modality].signal_tokens)]


# ------------------------------------------------------------ loading
def _build(cls: Any, data: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from plain data, naming any bad key by its dotted path."""
    origin = typing.get_origin(cls)
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise InputError(f"{where or 'config'}: expected a mapping, got {data!r}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown config key {where + '.' if where else ''}{unknown[0]}; "
                             f"expected one of {', '.join(sorted(names))}")
        return cls(**{k: _build(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()})
    if origin is dict:
        _, value_type = typing.get_args(cls)
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a mapping, got {data!r}")
        return {str(k): _build(value_type, v, f"{where}.{k}") for k, v in data.items()}
    if origin is Literal:
        if isinstance(data, bool) and ("on" if data else "off") in typing.get_args(cls):
            data = "on" if data else "off"  # YAML 1.1 reads a bare off/on as a boolean
        if data not in typing.get_args(cls):
            raise InputError(f"{where}: {data!r} is not one of {', '.join(map(str, typing.get_args(cls)))}")
        return data
    if origin is list:
        (item_type,) = typing.get_args(cls)
        if not isinstance(data, list):
            raise InputError(f"{where}: expected a list, got {data!r}")
        return [_build(item_type, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if cls in (int, float, bool, str):
        if cls is float and isinstance(data, int) and not isinstance(data, bool):
            return float(data)
        if cls is float and isinstance(data, str) and _FLOAT.fullmatch(data.strip()):
            return float(data)  # YAML 1.1 reads 5e-4 (no dot) as a string
        if not isinstance(data, cls) or (cls is int and isinstance(data, bool)):
            raise InputError(f"{where}: expected {cls.__name__}, got {data!r}")
        return data
    if isinstance(cls, types.UnionType) or origin is typing.Union:
        return data
    return data


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _set(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise InputError(f"--set {dotted}: {k} is not a section")
    node[keys[-1]] = value


def load_preset(name_or_path: str, overrides: list[str] | None = None) -> ModelConfig:
    """A preset by name (``nano``) or YAML path, with ``key.path=value`` overrides applied."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESETS_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
        raise InputError(f"no preset {name_or_path!r}; known presets: {known}")
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({e})") from e
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--set {item!r}: expected key.path=value")
        _set(tree, key.strip(), yaml.safe_load(raw))
    cfg = _build(ModelConfig, tree, "")
    for name, stage in cfg.stages.items():
        unknown = sorted(set(stage.trainable) - set(TRAINABLE_PARTS))
        if unknown:
            raise InputError(f"stages.{name}.trainable: unknown part {unknown[0]!r}; expected one of "
                             + ", ".join(TRAINABLE_PARTS))
    return cfg


def to_dict(cfg: Any) -> Any:
    """Plain data (for ``config.json``) from a config dataclass tree."""
    return dataclasses.asdict(cfg)


def from_dict(data: dict) -> ModelConfig:
    """The inverse of ``to_dict``, with the same checks as a preset."""
    return _build(ModelConfig, data, "")
