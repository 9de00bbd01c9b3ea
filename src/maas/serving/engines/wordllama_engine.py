"""The `wordllama` embedding engine: the 256-dimension model that ships inside the wordllama wheel.

Loaded offline (`disable_download=True`, weights from the package folder, as FACTS.md found).
`dimensions` below 256 truncates the un-normalised vector (wordllama is trained Matryoshka-style)
and then normalises it, so every vector returned has unit length. `input_type` is accepted and has
no effect on this model. Usage counts the model's own tokens.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from maas.core.errors import MaasError, Unprocessable
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import Json, ModelSpec, Unsupported

MAX_INPUTS = 2048
MAX_INPUT_CHARS = 100_000


class WordLlamaEngine(Unsupported):
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.model: Any = None
        self.dimensions = 256

    async def start(self) -> None:
        self.model = await asyncio.to_thread(self._load)

    def _load(self) -> Any:
        import wordllama
        from wordllama import WordLlama

        try:
            model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
        except Exception as exc:  # wordllama raises plain exceptions for missing files
            raise MaasError(
                f"wordllama could not load its shipped weights: {exc}", code="ModelLoadFailed"
            ) from exc
        self.dimensions = int(model.embedding.shape[1])
        return model

    async def close(self) -> None:
        self.model = None

    async def embed(self, request: EmbeddingsRequest, body: Json) -> Json:
        inputs = request.inputs()
        if len(inputs) > MAX_INPUTS:
            raise Unprocessable(
                f"At most {MAX_INPUTS} inputs per request.", code="invalid_parameter", target="input"
            )
        if any(len(text) > MAX_INPUT_CHARS for text in inputs):
            raise Unprocessable(
                f"Each input may have at most {MAX_INPUT_CHARS} characters.",
                code="invalid_parameter",
                target="input",
            )
        if any(not text for text in inputs):
            raise Unprocessable("Inputs must not be empty strings.", code="invalid_parameter", target="input")
        dimensions = request.dimensions or self.dimensions
        if dimensions > self.dimensions:
            raise Unprocessable(
                f"This model's embeddings have at most {self.dimensions} dimensions.",
                code="invalid_parameter",
                target="dimensions",
            )
        vectors, tokens = await asyncio.to_thread(self._embed, inputs, dimensions)
        data = []
        for index, vector in enumerate(vectors):
            value: Any = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode()
                if request.encoding_format == "base64"
                else vector.tolist()
            )
            data.append({"object": "embedding", "index": index, "embedding": value})
        return {
            "object": "list",
            "data": data,
            "model": self.spec.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _embed(self, inputs: list[str], dimensions: int) -> tuple[Any, int]:
        import numpy as np

        raw = self.model.embed(inputs, norm=False)[:, :dimensions]
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        vectors = raw / np.where(norms == 0, 1, norms)
        tokens = sum(len(encoding.ids) for encoding in self.model.tokenizer.encode_batch(inputs))
        return vectors, tokens
