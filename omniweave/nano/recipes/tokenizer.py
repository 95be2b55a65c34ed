"""Recipe: the nano tokenizer, a byte-level BPE trained on world text (``omniweave.nano.text``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from omniweave.nano.text import CHAT_TEMPLATE, corpus, vocabulary_text

VOCAB_SIZE = 2048
SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>")
MODEL_MAX_LENGTH = 512
CORPUS_DOCS = 30_000


def train_backend(texts: list[str], vocab_size: int = VOCAB_SIZE) -> Tokenizer:
    """A byte-level BPE (GPT-2 style, no prefix space) with the nano special tokens first."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """The transformers tokenizer: Llama-like (adds ``<s>``), Vicuna chat template, no space cleanup."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        add_bos_token=True,
        add_eos_token=False,
        model_max_length=MODEL_MAX_LENGTH,
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
        padding_side="right",
    )


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast.from_pretrained(str(path))


def build(out: Path, *, seed: int = 0, vocab_size: int = VOCAB_SIZE, docs: int = CORPUS_DOCS,
          **_: Any) -> dict[str, Any]:
    """Train on ``docs`` documents of world text (plus every world word and caption)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    documents = corpus(docs, seed)
    # Documents carry literal "<s>"/"</s>"; the trainer sees them as special tokens, not text.
    texts = [d.replace("<s>", "").replace("</s>", "\n") for d in documents]
    extra = vocabulary_text()
    texts += [" ".join(extra)] * 5 + extra
    tokenizer = wrap(train_backend(texts, vocab_size))
    tokenizer.save_pretrained(str(out))

    captions = [x for x in extra if " " in x and not x.endswith("hertz")]
    lengths = [len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in captions]
    sample = documents[:2000]
    doc_tokens = sum(len(tokenizer(d, add_special_tokens=False)["input_ids"]) for d in sample)
    broken = [x for x in extra if tokenizer.decode(tokenizer(x, add_special_tokens=False)["input_ids"]) != x]
    return {
        "vocab_size": len(tokenizer),
        "tokens_per_caption": round(sum(lengths) / len(lengths), 3),
        "tokens_per_document": round(doc_tokens / len(sample), 2),
        "chars_per_token": round(sum(map(len, sample)) / doc_tokens, 3),
        "round_trip_failures": len(broken),
    }
