"""The parts of continuous batching on their own: per-row token choice (sampling.py), the growing
text of a generation (detokenizer.py) and the left-padded KV cache that rows join and leave
(decode_batch.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from maas.core.shipped import resolve_path
from maas.serving.engines.decode_batch import DecodeBatch, Runner
from maas.serving.engines.detokenizer import Detokenizer
from maas.serving.engines.sampling import RowSampling, choose

VOCAB = 16


def row(temperature: float = 1.0, top_p: float = 1.0, seed: int = 0, **penalties: float) -> RowSampling:
    return RowSampling(
        temperature,
        top_p,
        penalties.get("presence", 0.0),
        penalties.get("frequency", 0.0),
        random.Random(seed),
    )


def scores(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def zeros(rows: int) -> torch.Tensor:
    return torch.zeros(rows, VOCAB)


# -- sampling ---------------------------------------------------------------------------------------
def test_greedy_rows_take_the_argmax_and_sampled_rows_sample() -> None:
    logits = torch.randn(3, VOCAB, generator=torch.Generator().manual_seed(1))
    rows = [row(temperature=0.0), row(top_p=1e-6, seed=3), row(temperature=0.0)]
    assert choose(logits, rows, zeros(3), None) == logits.argmax(dim=-1).tolist()  # top_p → the likeliest


def test_a_seeded_row_draws_the_same_whatever_its_neighbours() -> None:
    logits = torch.zeros(1, VOCAB)  # uniform: every draw shows the generator's state
    alone = [choose(logits, [row(seed=7)], zeros(1), None)[0] for _ in range(1)]
    seeded = row(seed=7)
    neighbours = [row(seed=1), seeded, row(temperature=0.0), row(seed=2)]
    many = torch.zeros(4, VOCAB)
    draws = [choose(many, neighbours, zeros(4), None)[1] for _ in range(20)]
    again = row(seed=7)
    assert draws == [choose(logits, [again], zeros(1), None)[0] for _ in range(20)]
    assert draws[0] == alone[0]
    assert len(set(draws)) > 1  # it does sample


def test_the_nucleus_never_yields_a_token_outside_it() -> None:
    logits = scores([5.0, 4.0, *([0.0] * (VOCAB - 2))])
    probabilities = torch.softmax(logits[0], dim=-1)
    assert probabilities[:2].sum() > 0.9
    sampler = row(top_p=0.9, seed=11)
    picked = {choose(logits, [sampler], zeros(1), None)[0] for _ in range(200)}
    assert picked == {0, 1}


def test_penalties_lower_the_tokens_already_generated() -> None:
    logits = scores([2.0, 1.5, 1.0, *([0.0] * (VOCAB - 3))])
    counts = zeros(1)
    counts[0, 0] = 3.0
    assert choose(logits, [row(temperature=0.0)], counts, None) == [0]
    assert choose(logits, [row(temperature=0.0, frequency=0.5)], counts, None) == [1]  # 2 - 1.5 < 1.5
    assert choose(logits, [row(temperature=0.0, presence=0.6)], counts, None) == [1]  # 2 - 0.6 < 1.5
    two = torch.cat([logits, logits])
    mixed = choose(
        two, [row(temperature=0.0), row(temperature=0.0, frequency=0.5)], torch.cat([counts] * 2), None
    )
    assert mixed == [0, 1]  # per row


def test_the_repetition_penalty_covers_what_a_row_has_seen() -> None:
    logits = scores([2.0, 1.9, -1.0, *([-5.0] * (VOCAB - 3))])
    seen = torch.zeros(1, VOCAB, dtype=torch.bool)
    seen[0, 0] = True
    greedy = [row(temperature=0.0)]
    assert choose(logits, greedy, zeros(1), seen, repetition=1.0) == [0]
    assert choose(logits, greedy, zeros(1), seen, repetition=1.15) == [1]  # 2 / 1.15 < 1.9


# -- detokenizer ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def byte_level() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_path("shipped:maas-tiny-chat"))


@pytest.fixture(scope="module")
def metaspace() -> Any:
    """A SentencePiece-like tokenizer (▁ for spaces, the first word's space dropped on decode)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    text = ["Hello world, the quick brown fox jumps over the lazy dog. Ünïcode café ☃."] * 20
    tokenizer.train_from_iterator(text, trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>", "</s>"]))
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="</s>", unk_token="<unk>")


def _texts(tokenizer: Any) -> Iterator[list[int]]:
    rng = random.Random(0)
    sample = "Hello, wörld! Ünïcode café ☃ and emoji 🎉 text; lists: [1, 2]. " * 3
    ids = tokenizer(sample, add_special_tokens=False)["input_ids"]
    for _ in range(100):
        yield ids[: rng.randrange(1, len(ids))]
        yield [rng.randrange(len(tokenizer)) for _ in range(rng.randrange(1, 60))]


@pytest.mark.parametrize("name", ["byte_level", "metaspace"])
def test_the_growing_text_is_the_full_decoding(name: str, request: pytest.FixtureRequest) -> None:
    tokenizer = request.getfixturevalue(name)
    for ids in _texts(tokenizer):
        text = Detokenizer(tokenizer)
        for index, token in enumerate(ids, start=1):
            assert text.add(token) == tokenizer.decode(ids[:index], skip_special_tokens=True), ids[:index]
        assert text.text == tokenizer.decode(ids, skip_special_tokens=True)


def test_half_a_character_stays_uncommitted(byte_level: Any) -> None:
    ids = byte_level("☃", add_special_tokens=False)["input_ids"]
    if len(ids) < 2:
        pytest.skip("the snowman is a single token in this vocabulary")
    text = Detokenizer(byte_level)
    assert text.add(ids[0]).endswith("\ufffd") and text.committed == ""
    for token in ids[1:]:
        text.add(token)
    assert text.text == text.committed == "☃"


# -- the KV batch -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runner() -> Runner:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(resolve_path("shipped:maas-tiny-chat"), dtype=torch.float32)
    return Runner.of(model.eval())


def _solo_logits(runner: Runner, ids: list[int], fed: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        one = DecodeBatch.prefill(runner, [ids], track_seen=False)
        for token in fed:
            one.step([token])
        return one.logits[0]


def test_rows_join_and_leave_and_compute_what_they_would_alone(runner: Runner) -> None:
    long, short, middle = list(range(3, 40)), [5, 6, 7], list(range(50, 62))
    with torch.inference_mode():
        batch = DecodeBatch.prefill(runner, [long], track_seen=True)
        batch.step([9])
        joining = DecodeBatch.prefill(runner, [short, middle], track_seen=True)  # padded together
        assert joining.mask.tolist()[0] == [0] * 9 + [1] * 3
        batch.merge(joining)
        assert len(batch) == 3 and batch.mask.shape[1] == len(long) + 1
        batch.step([10, 11, 12])
        assert batch.positions.tolist() == [len(long) + 2, len(short) + 1, len(middle) + 1]
        assert batch.seen is not None and bool(batch.seen[1, 11]) and bool(batch.seen[1, 5])
        assert batch.counts[1].sum().item() == 1.0
        logits = batch.logits.clone()
        batch.keep([1, 2])  # the long row leaves: the padding that only it needed goes too
        assert batch.mask.shape[1] == len(middle) + 1
        assert bool(batch.mask[1].all())
        for layer in batch.cache.layers:
            assert layer.keys.shape[0] == 2 and layer.keys.shape[2] == len(middle) + 1
        batch.step([13, 14])
    torch.testing.assert_close(logits[0], _solo_logits(runner, long, [9, 10]), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(logits[1], _solo_logits(runner, short, [11]), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(batch.logits[0], _solo_logits(runner, short, [11, 13]), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(batch.logits[1], _solo_logits(runner, middle, [12, 14]), rtol=1e-4, atol=1e-4)


def test_a_plain_dynamic_cache_is_mergeable(runner: Runner) -> None:
    with torch.inference_mode():
        assert DecodeBatch.prefill(runner, [[3, 4, 5]], track_seen=False).mergeable
