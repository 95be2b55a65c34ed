"""Any transformers causal LM: its own chat template, a Vicuna one where it has none; no resize."""

import pytest
import torch

from omniweave.config import LLMConfig, load_preset
from omniweave.errors import InputError
from omniweave.llm import VICUNA_TEMPLATE, load_llm, split_digits
from omniweave.nano.components import WEIGHTS_DIR


def test_a_model_without_a_template_gets_vicuna(tiny_models):
    model, tok = load_llm(LLMConfig(path=str(tiny_models["vicuna"])))
    assert type(model).__name__ == "LlamaForCausalLM" and tok.chat_template == VICUNA_TEMPLATE
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                   add_generation_prompt=True)
    assert text.endswith("USER: hi ASSISTANT:") and "A chat between" in text
    assert not any(p.requires_grad for p in model.parameters())
    assert model.get_input_embeddings().num_embeddings == model.config.vocab_size  # not resized


def test_a_model_keeps_its_own_template_unless_overridden(tiny_models):
    model, tok = load_llm(LLMConfig(path=str(tiny_models["qwen2"])))
    assert type(model).__name__ == "Qwen2ForCausalLM" and "<|im_start|>" in tok.chat_template
    _, tok = load_llm(LLMConfig(path=str(tiny_models["qwen2"]), chat_template="{{ 'X' }}"))
    assert tok.chat_template == "{{ 'X' }}"
    model, _ = load_llm(LLMConfig(path=str(tiny_models["llama-chat"]), dtype="bfloat16"))
    assert model.dtype == torch.bfloat16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_quantized_loading_needs_cuda(tiny_models):
    with pytest.raises(InputError, match="load_in_4bit needs a CUDA GPU"):
        load_llm(LLMConfig(path=str(tiny_models["qwen2"]), load_in_4bit=True))


def test_presets_parse_with_the_new_fields():
    cfg = load_preset("nextgpt-7b")
    assert cfg.llm.path == "lmsys/vicuna-7b-v1.5" and cfg.device == "auto"
    assert [cfg.modalities[m].signal_tokens for m in ("image", "audio", "video")] == [4, 8, 24]
    lora = cfg.stages["3"].lora
    assert (lora.r, lora.alpha, lora.target_modules) == (32, 32, ["q_proj", "k_proj", "v_proj", "o_proj"])
    assert cfg.stages["1"].trainable == {"input_projectors": "full"}
    assert cfg.stages["2"].pair_task == "t2x"
    assert load_preset("qwen-small").llm.path == "Qwen/Qwen2.5-1.5B-Instruct"


def test_split_digits_reads_numbers_one_digit_per_token_and_leaves_words_alone():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(WEIGHTS_DIR / "tokenizer")
    words = "a pulsing high square tone. what do you hear?"
    before_words = tok(words)["input_ids"]
    assert "Ġ440" in tok.convert_ids_to_tokens(tok("at 440 hertz")["input_ids"])  # merged by BPE
    split_digits(tok)
    split_digits(tok)  # idempotent
    assert str(tok.backend_tokenizer.pre_tokenizer).count("Digits") == 1
    ids = tok("467 * 80 is 37360")["input_ids"]
    pieces = [p for p in tok.convert_ids_to_tokens(ids) if any(c.isdigit() for c in p)]
    assert pieces == list("46780" "37360")
    assert tok.decode(ids, skip_special_tokens=True) == "467 * 80 is 37360"
    assert tok(words)["input_ids"] == before_words


def test_the_kv_cache_goes_by_the_name_the_model_takes(tiny_models, trained_model):
    """transformers renamed ``past_key_values`` to ``cache``; omniweave passes whichever the model's
    forward takes (through a peft wrapper too) and reads it back, so generating warns of nothing."""
    import warnings

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from omniweave.llm import kv_cache_arg, kv_cache_of

    model = AutoModelForCausalLM.from_pretrained(tiny_models["vicuna"])
    name = next(iter(kv_cache_arg(model, None)))
    assert name in ("cache", "past_key_values")
    wrapped = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"]))
    assert kv_cache_arg(wrapped, None) == {name: None}

    class OldStyle(torch.nn.Module):
        def forward(self, input_ids, past_key_values=None):
            pass

    assert kv_cache_arg(OldStyle(), 1) == {"past_key_values": 1}
    out = model(input_ids=torch.tensor([[1, 2, 3]]), use_cache=True)
    assert kv_cache_of(out).get_seq_length() == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        reply = trained_model.generate([{"role": "user", "content": "describe a red circle."}],
                                       max_new_tokens=4, make_media=False)
    assert reply.text
