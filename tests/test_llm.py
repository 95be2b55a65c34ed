from transformers import AutoTokenizer

from omniweave.llm import split_digits
from omniweave.nano.components import WEIGHTS_DIR


def test_split_digits_reads_numbers_one_digit_per_token_and_leaves_words_alone():
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
