"""The tensors of a decoding batch: rows of different lengths sharing one KV cache.

Rows are left-padded to the cache's length. The attention mask is 0 over each row's padding and
position ids are explicit, so every row's rotary positions are its own and a row computes what it
would compute alone (up to float rounding: matrix products of another shape round differently,
~1e-5 on the logits). Requests that join at the same step are prefilled together in one forward
pass, left-padded to the longest prompt, and merged into the running batch: the shorter of the two
caches gets zero key/value columns on the left, then both are concatenated along the batch
dimension. Rows leave by index; columns that have become padding in every remaining row are
trimmed, so the cache is never longer than its longest row.

Merging needs a cache whose layers are plain key/value tensors (`DynamicLayer`). Others (sliding
window, linear attention, quantised caches) report `mergeable = False`, and the scheduler then runs
one row at a time.

Alongside the cache, per row: the logits awaiting the next choice, the count of each generated
token (presence/frequency penalties) and, when the model has a repetition penalty, which tokens
the row has seen (prompt included).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any

__all__ = ["DecodeBatch", "Runner"]


@dataclass(frozen=True)
class Runner:
    """How to call one loaded causal LM: the name of its cache argument and whether it can skip
    the logits of every position but the last."""

    model: Any
    cache_arg: str
    last_logits_only: bool

    @classmethod
    def of(cls, model: Any) -> Runner:
        parameters = inspect.signature(model.forward).parameters
        cache_arg = "cache" if "cache" in parameters else "past_key_values"
        return cls(model, cache_arg, "logits_to_keep" in parameters)

    @property
    def device(self) -> Any:
        return self.model.device

    def __call__(self, input_ids: Any, cache: Any, **extra: Any) -> Any:
        """Logits of the last position of each row, float [rows, vocab]."""
        if self.last_logits_only:
            extra["logits_to_keep"] = 1
        output = self.model(input_ids=input_ids, use_cache=True, **{self.cache_arg: cache}, **extra)
        return output.logits[:, -1, :].float()


class DecodeBatch:
    def __init__(
        self,
        runner: Runner,
        cache: Any,
        mask: Any,
        positions: Any,
        logits: Any,
        counts: Any,
        seen: Any | None,
    ) -> None:
        self.runner = runner
        self.cache = cache
        self.mask = mask  # long [rows, cache length]: 1 for real tokens
        self.positions = positions  # long [rows]: the position of each row's next token
        self.logits = logits  # float [rows, vocab]: what the next token is chosen from
        self.counts = counts  # float [rows, vocab]: generated tokens
        self.seen = seen  # bool [rows, vocab] or None: prompt and generated tokens

    @classmethod
    def prefill(cls, runner: Runner, prompts: list[list[int]], track_seen: bool) -> DecodeBatch:
        """New rows: their prompts, left-padded to the longest, in one forward pass."""
        import torch
        from transformers import DynamicCache

        device = runner.device
        width = max(len(ids) for ids in prompts)
        pads = [width - len(ids) for ids in prompts]
        input_ids = torch.tensor([[ids[0]] * pad + ids for ids, pad in zip(prompts, pads, strict=True)])
        mask = torch.tensor([[0] * pad + [1] * (width - pad) for pad in pads], dtype=torch.long)
        input_ids, mask = input_ids.to(device), mask.to(device)
        cache = DynamicCache()
        if any(pads):
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
            logits = runner(input_ids, cache, attention_mask=mask, position_ids=positions)
            cls._zero_padding(cache, mask)
        else:  # no mask at all: the very computation of a request prefilled alone
            logits = runner(input_ids, cache)
        counts = torch.zeros_like(logits)
        seen = None
        if track_seen:
            seen = torch.zeros(logits.shape, dtype=torch.bool, device=device)
            for index, ids in enumerate(prompts):
                seen[index, torch.tensor(ids, device=device)] = True
        lengths = torch.tensor([len(ids) for ids in prompts], dtype=torch.long, device=device)
        return cls(runner, cache, mask, lengths, logits, counts, seen)

    @staticmethod
    def _zero_padding(cache: Any, mask: Any) -> None:
        """Padding's keys and values are masked out, but whatever a fully masked query produced
        (NaN, in some attention kernels) would still poison the weighted sum: make them zeros."""
        import torch

        keep = mask.bool()[:, None, :, None]
        for layer in getattr(cache, "layers", ()):
            if getattr(layer, "keys", None) is not None and layer.keys.dim() == 4:
                layer.keys = torch.where(keep, layer.keys, 0.0)
                layer.values = torch.where(keep, layer.values, 0.0)

    def __len__(self) -> int:
        return int(self.mask.shape[0])

    @property
    def mergeable(self) -> bool:
        from transformers.cache_utils import DynamicLayer

        layers: list[Any] = list(getattr(self.cache, "layers", None) or [])
        return bool(layers) and all(
            type(layer) is DynamicLayer and layer.keys is not None and layer.keys.dim() == 4
            for layer in layers
        )

    def merge(self, other: DecodeBatch) -> None:
        """Append other's rows after this batch's rows (other is consumed)."""
        import torch
        from torch.nn.functional import pad

        mine, theirs = self.mask.shape[1], other.mask.shape[1]
        width = max(mine, theirs)
        left, right = width - mine, width - theirs
        for layer, joining in zip(self.cache.layers, other.cache.layers, strict=True):
            layer.keys = torch.cat([pad(layer.keys, (0, 0, left, 0)), pad(joining.keys, (0, 0, right, 0))])
            layer.values = torch.cat(
                [pad(layer.values, (0, 0, left, 0)), pad(joining.values, (0, 0, right, 0))]
            )
        self.mask = torch.cat([pad(self.mask, (left, 0)), pad(other.mask, (right, 0))])
        self.positions = torch.cat([self.positions, other.positions])
        self.logits = torch.cat([self.logits, other.logits])
        self.counts = torch.cat([self.counts, other.counts])
        if self.seen is not None and other.seen is not None:
            self.seen = torch.cat([self.seen, other.seen])

    def take(self, rows: list[int]) -> DecodeBatch:
        """A new batch of copies of these rows (this one is unchanged): rows set aside a while."""
        import torch

        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        taken = DecodeBatch(
            self.runner,
            copy.copy(self.cache),
            self.mask.index_select(0, index),
            self.positions.index_select(0, index),
            self.logits.index_select(0, index),
            self.counts.index_select(0, index),
            self.seen.index_select(0, index) if self.seen is not None else None,
        )
        taken.cache.layers = [copy.copy(layer) for layer in self.cache.layers]
        for mine, theirs in zip(self.cache.layers, taken.cache.layers, strict=True):
            theirs.keys = mine.keys.index_select(0, index)
            theirs.values = mine.values.index_select(0, index)
        taken.keep(list(range(len(rows))))  # trim columns that are padding in all of them
        return taken

    def keep(self, rows: list[int]) -> None:
        """Keep only these rows (in this order), then trim columns that are padding in all of them."""
        import torch

        if rows == list(range(len(self))):
            return
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        cut = int(mask.argmax(dim=1).min()) if rows else 0  # the earliest first real token
        self.mask = mask[:, cut:]
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, cut:, :]
            layer.values = layer.values.index_select(0, index)[:, :, cut:, :]
        self.positions = self.positions.index_select(0, index)
        self.logits = self.logits.index_select(0, index)
        self.counts = self.counts.index_select(0, index)
        if self.seen is not None:
            self.seen = self.seen.index_select(0, index)

    def step(self, tokens: list[int]) -> None:
        """Feed each row its chosen token; the logits for the next choice replace the old ones."""
        import torch

        device = self.mask.device
        chosen = torch.tensor(tokens, dtype=torch.long, device=device)[:, None]
        self.counts.scatter_add_(1, chosen, torch.ones_like(chosen, dtype=self.counts.dtype))
        if self.seen is not None:
            self.seen.scatter_(1, chosen, True)
        self.mask = torch.cat([self.mask, torch.ones_like(chosen)], dim=1)
        self.logits = self.runner(
            chosen, self.cache, attention_mask=self.mask, position_ids=self.positions[:, None]
        )
        self.positions = self.positions + 1
