"""Choosing the next token of every row of a decoding batch, each row under its own request's settings.

A batch mixes requests that asked for different things: greedy and sampled rows, temperatures,
top_p, penalties and seeds side by side. The scores of all rows are adjusted in one pass, in this
order (OpenAI documents the penalties as a change to the logits before sampling):

1. the repetition penalty of the model's `generation_config.json` (Hugging Face's multiplicative
   one, over the prompt and the generated tokens; requests cannot set it);
2. OpenAI's additive penalties over the generated tokens: `frequency_penalty × count`,
   `presence_penalty × (count > 0)`;
3. temperature 0: the argmax. Otherwise divide by the temperature, keep the nucleus of `top_p`
   (Hugging Face's rule: drop the tokens whose ascending cumulative probability is ≤ 1 − top_p,
   never the likeliest), and draw once from that row's own generator.

Each row owns a `random.Random` seeded from the request's `seed` (or from the OS when it has
none), and a draw is one uniform number per row per token, so what a seeded request samples does
not depend on which other requests share its batch or on torch's global generator.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from maas.serving.engines.generation import Plan

__all__ = ["RowSampling", "choose"]


@dataclass(frozen=True)
class RowSampling:
    temperature: float
    top_p: float
    presence_penalty: float
    frequency_penalty: float
    rng: random.Random = field(compare=False)

    @classmethod
    def of(cls, how: Plan) -> RowSampling:
        seed = how.seed if how.seed is not None else int.from_bytes(os.urandom(8), "little")
        return cls(
            how.temperature, how.top_p, how.presence_penalty, how.frequency_penalty, random.Random(seed)
        )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def choose(
    scores: Any, rows: Sequence[RowSampling], counts: Any, seen: Any | None, repetition: float = 1.0
) -> list[int]:
    """The next token of each row. scores, counts: float [rows, vocab]; seen: bool [rows, vocab]."""
    import torch

    scores = scores.float()
    if seen is not None and repetition != 1.0:
        penalised = torch.where(scores < 0, scores * repetition, scores / repetition)
        scores = torch.where(seen, penalised, scores)
    if any(r.presence_penalty or r.frequency_penalty for r in rows):
        presence = _column([r.presence_penalty for r in rows], scores)
        frequency = _column([r.frequency_penalty for r in rows], scores)
        scores = scores - frequency * counts - presence * (counts > 0).to(scores.dtype)
    tokens = scores.argmax(dim=-1)
    sampled = [i for i, row in enumerate(rows) if not row.greedy]
    if sampled:
        index = torch.tensor(sampled, device=scores.device)
        chosen = [rows[i] for i in sampled]
        picked = scores.index_select(0, index) / _column([r.temperature for r in chosen], scores)
        if any(r.top_p < 1.0 for r in chosen):
            picked = _nucleus(picked, _column([r.top_p for r in chosen], scores))
        cdf = torch.softmax(picked, dim=-1).cumsum(dim=-1)
        draws = _column([r.rng.random() for r in chosen], scores) * cdf[:, -1:]
        # the first token whose cumulative probability passes the draw: never one of probability 0
        found = torch.searchsorted(cdf, draws, right=True).clamp(max=cdf.shape[-1] - 1)
        tokens[index] = found[:, 0]
    return [int(t) for t in tokens.tolist()]


def _column(values: list[float], like: Any) -> Any:
    import torch

    return torch.tensor(values, dtype=like.dtype, device=like.device)[:, None]


def _nucleus(scores: Any, top_p: Any) -> Any:
    import torch

    ordered, order = torch.sort(scores, descending=False, dim=-1)
    cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
    drop = cumulative <= (1 - top_p)
    drop[:, -1] = False
    return scores.masked_fill(drop.scatter(1, order, drop), float("-inf"))
