"""`GET /info` of the Azure AI Model Inference API."""

from __future__ import annotations

from enum import StrEnum


class ModelType(StrEnum):
    """Values azure-ai-inference's `ModelType` knows."""

    CHAT_COMPLETION = "chat_completion"
    TEXT_GENERATION = "text_generation"
    EMBEDDINGS = "embeddings"
