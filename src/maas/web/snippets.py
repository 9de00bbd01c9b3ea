"""The Consume tab's ready-to-run snippets: the Target URI filled in, the key read from the
environment variable `KEY_VARIABLE` (never written into the page's code: a snippet is copied into
files and chats, and a key in it would travel with it).

Each is what the project's own clients do (README, docs/clients.md): `openai` with the Target URI as
its base URL, azure-ai-inference's `ChatCompletionsClient` / `EmbeddingsClient` with the key as an
`AzureKeyCredential`, curl with `api-key`, and LangChain's OpenAI-compatible chat model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["KEY_VARIABLE", "Snippet", "snippets_for"]

KEY_VARIABLE = "AZURE_INFERENCE_CREDENTIAL"


@dataclass(frozen=True)
class Snippet:
    id: str
    title: str
    install: str
    code: str


def _py(value: str) -> str:
    """A Python string literal (JSON's escaping is valid Python for these values)."""
    return json.dumps(value)


def _chat(uri: str, model: str) -> list[Snippet]:
    body = json.dumps({"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 64})
    return [
        Snippet(
            "openai",
            "Python: openai",
            "pip install openai",
            f"""import os
from openai import OpenAI

client = OpenAI(
    base_url={_py(uri)},
    api_key=os.environ["{KEY_VARIABLE}"],
)
response = client.chat.completions.create(
    model={_py(model)},
    messages=[{{"role": "user", "content": "Hello!"}}],
    max_tokens=64,
)
print(response.choices[0].message.content)
print(response.usage)
""",
        ),
        Snippet(
            "azure-ai-inference",
            "Python: azure-ai-inference",
            "pip install azure-ai-inference",
            f"""import os
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import SystemMessage, UserMessage
from azure.core.credentials import AzureKeyCredential

client = ChatCompletionsClient(
    endpoint={_py(uri)},
    credential=AzureKeyCredential(os.environ["{KEY_VARIABLE}"]),
)
response = client.complete(
    messages=[SystemMessage("You are a helpful assistant."), UserMessage("Hello!")],
    max_tokens=64,
)
print(response.choices[0].message.content)
print(response.usage)
""",
        ),
        Snippet(
            "curl",
            "curl",
            "",
            f"""curl -X POST "{uri}/chat/completions" \\
  -H "Content-Type: application/json" \\
  -H "api-key: ${KEY_VARIABLE}" \\
  -d '{body}'
""",
        ),
        Snippet(
            "langchain",
            "Python: LangChain",
            "pip install langchain-openai",
            f"""import os
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(
    base_url={_py(uri)},
    api_key=os.environ["{KEY_VARIABLE}"],
    model={_py(model)},
    max_tokens=64,
)
print(llm.invoke("Hello!").content)
""",
        ),
    ]


def _embeddings(uri: str, model: str) -> list[Snippet]:
    body = json.dumps({"input": ["a cat", "a dog"]})
    return [
        Snippet(
            "openai",
            "Python: openai",
            "pip install openai",
            f"""import os
from openai import OpenAI

client = OpenAI(
    base_url={_py(uri)},
    api_key=os.environ["{KEY_VARIABLE}"],
)
response = client.embeddings.create(model={_py(model)}, input=["a cat", "a dog"])
print(len(response.data), "vectors of", len(response.data[0].embedding), "dimensions")
print(response.usage)
""",
        ),
        Snippet(
            "azure-ai-inference",
            "Python: azure-ai-inference",
            "pip install azure-ai-inference",
            f"""import os
from azure.ai.inference import EmbeddingsClient
from azure.core.credentials import AzureKeyCredential

client = EmbeddingsClient(
    endpoint={_py(uri)},
    credential=AzureKeyCredential(os.environ["{KEY_VARIABLE}"]),
)
response = client.embed(input=["a cat", "a dog"])
print(len(response.data), "vectors of", len(response.data[0].embedding), "dimensions")
""",
        ),
        Snippet(
            "curl",
            "curl",
            "",
            f"""curl -X POST "{uri}/embeddings" \\
  -H "Content-Type: application/json" \\
  -H "api-key: ${KEY_VARIABLE}" \\
  -d '{body}'
""",
        ),
        Snippet(
            "langchain",
            "Python: LangChain",
            "pip install langchain-openai",
            f"""import os
from langchain_openai import OpenAIEmbeddings

embeddings = OpenAIEmbeddings(
    base_url={_py(uri)},
    api_key=os.environ["{KEY_VARIABLE}"],
    model={_py(model)},
    check_embedding_ctx_length=False,  # send text, not OpenAI's token ids
)
print(len(embeddings.embed_query("a cat")), "dimensions")
""",
        ),
    ]


def snippets_for(uri: str, model: str, embeddings: bool) -> list[Snippet]:
    return _embeddings(uri, model) if embeddings else _chat(uri, model)
