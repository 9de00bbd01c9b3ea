"""A world for the inference-client contract tests: a real `maas serve`, three deployed endpoints.

`inference_world()` starts, in parallel, a subprocess that writes a tiny random-init Llama folder
(with a BPE tokenizer and a chat template, so the `transformers` engine serves it like any user's
model) and a plain-HTTP `maas serve` with the default models on (it puts
`azureml://registries/maas/models/wordllama-embed` in the catalog). It also starts a fake OpenAI
upstream in this process. Then, over HTTP as the admin: an account with a payment method, a
resource group and a workspace; a chat model from the tiny folder and a chat model relayed to the
fake upstream, each with a free FirstParty offer; and three serverless endpoints (tiny chat,
upstream chat, wordllama embeddings), each waited for through its Azure-AsyncOperation URL. What
comes back is every endpoint's Target URI (`properties.inferenceEndpoint.uri`) and keys.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fake_upstream import FakeUpstream, fake_upstream
from support.server import RunningServer, running_server

API_VERSION = "2024-01-01-preview"
ML = "Microsoft.MachineLearningServices"
SUB = "00000000-0000-0000-0000-0000000000c2"
RG = "rg-inference"
WS = "ws-inference"
LOCATION = "eastus2"

TINY_MODEL = "azureml://registries/local/models/tiny-llama"
TINY_PROVIDER = "maas-contract-tests"
UPSTREAM_MODEL = "azureml://registries/local/models/fake-upstream-chat"
UPSTREAM_PROVIDER = "fake-upstream"
UPSTREAM_WIRE_MODEL = "up-model"  # what the gateway puts in `model` when it relays upstream
EMBED_MODEL = "azureml://registries/maas/models/wordllama-embed"  # a default model of `maas serve`

TINY = "tiny-chat"
UPSTREAM = "upstream-chat"
EMBED = "wordllama-embed"

BUILD_TIMEOUT_S = 180.0
DEPLOY_TIMEOUT_S = 60.0

# Run in a subprocess (`python -c SCRIPT OUT`): importing transformers costs seconds, which then
# overlap with the server's start, and the test process stays free of torch.
TINY_LLAMA_SCRIPT = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

out = sys.argv[1]
tokenizer = Tokenizer(models.BPE())
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=300,
    special_tokens=["<|end|>", "<|user|>", "<|assistant|>", "<|system|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
)
tokenizer.train_from_iterator(["hello world the cat sat on the mat"] * 10, trainer)
fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|end|>", pad_token="<|end|>")
fast.chat_template = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
fast.save_pretrained(out)
config = LlamaConfig(
    vocab_size=len(fast),
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=2,
    max_position_embeddings=256,
    eos_token_id=fast.eos_token_id,
    pad_token_id=fast.pad_token_id,
)
LlamaForCausalLM(config).save_pretrained(out)
"""


@dataclass(frozen=True)
class Endpoint:
    name: str
    uri: str  # the Target URI, e.g. http://127.0.0.1:PORT/endpoints/eastus2/tiny-chat
    key: str
    secondary_key: str
    model_name: str
    provider: str


@dataclass(frozen=True)
class InferenceWorld:
    server: RunningServer
    upstream: FakeUpstream
    endpoints: dict[str, Endpoint]

    def __getitem__(self, name: str) -> Endpoint:
        return self.endpoints[name]

    def server_log(self) -> str:
        logs = sorted(self.server.data_dir.parent.glob("server-*.log"))
        return "\n".join(path.read_text(errors="replace") for path in logs)


class _Admin:
    def __init__(self, http: httpx.Client, server: RunningServer) -> None:
        self.http = http
        self.server = server

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = self.http.request(method, path, json=body, params={"api-version": API_VERSION})
        assert response.status_code in (200, 201, 202), (
            f"{method} {path} -> {response.status_code} {response.text}"
        )
        return response

    def wait(self, response: httpx.Response) -> dict[str, Any]:
        """Poll the Azure-AsyncOperation URL (absolute, on this server) until it is terminal."""
        url = response.headers["Azure-AsyncOperation"]
        deadline = time.monotonic() + DEPLOY_TIMEOUT_S
        while True:
            status: dict[str, Any] = self.http.get(url).json()
            if status.get("status") not in ("InProgress", "Running", "NotStarted", None):
                return status
            assert time.monotonic() < deadline, f"operation {url} still {status}"
            time.sleep(0.05)


def _ws_path() -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{ML}/workspaces/{WS}"


def _add_model(admin: _Admin, model_id: str, task: str, provider: str, artifact: dict[str, Any]) -> None:
    path = model_id.removeprefix("azureml:/") + "/versions/1"
    properties = {"task": task, "provider": provider, "artifact": artifact, "description": "contract test"}
    admin.call("PUT", path, {"properties": properties})
    offer = model_id.rsplit("/", 1)[-1]
    admin.call(
        "PUT",
        f"/providers/Microsoft.MaaS/offers/{offer}",
        {"properties": {"modelId": model_id, "publisherId": "contract", "kind": "FirstParty", "meters": []}},
    )


def _deploy(admin: _Admin, deployments: dict[str, tuple[str, str]]) -> dict[str, Endpoint]:
    started = {}
    for name, (model_id, _provider) in deployments.items():
        body = {
            "location": LOCATION,
            "sku": {"name": "Consumption"},
            "properties": {"modelSettings": {"modelId": model_id}},
        }
        started[name] = admin.call("PUT", f"{_ws_path()}/serverlessEndpoints/{name}", body)
    endpoints = {}
    for name, response in started.items():
        status = admin.wait(response)
        assert status["status"] == "Succeeded", f"deploying {name}: {status}"
        path = f"{_ws_path()}/serverlessEndpoints/{name}"
        resource = admin.call("GET", path).json()
        assert resource["properties"]["provisioningState"] == "Succeeded", resource
        keys = admin.call("POST", f"{path}/listKeys").json()
        model_id, provider = deployments[name]
        endpoints[name] = Endpoint(
            name=name,
            uri=resource["properties"]["inferenceEndpoint"]["uri"],
            key=keys["primaryKey"],
            secondary_key=keys["secondaryKey"],
            model_name=model_id.rsplit("/", 1)[-1],
            provider=provider,
        )
    return endpoints


@contextmanager
def inference_world(root: Path) -> Iterator[InferenceWorld]:
    tiny_dir = root / "tiny-llama"
    builder = subprocess.Popen(
        [sys.executable, "-c", TINY_LLAMA_SCRIPT, str(tiny_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            # Only our own MAAS_* settings reach the server: a developer's MAAS_DATABASE_URL must not.
            for key in [key for key in os.environ if key.startswith("MAAS_")]:
                patch.delenv(key)
            env = {"MAAS_DEFAULT_MODELS": "true", "PYTHONUNBUFFERED": "1"}
            with (
                fake_upstream() as upstream,
                running_server(root / "data", extra_env=env) as server,
                server.client() as http,
            ):
                output, _ = builder.communicate(timeout=BUILD_TIMEOUT_S)
                assert builder.returncode == 0, f"building the tiny Llama failed:\n{output.decode()}"
                admin = _Admin(http, server)
                admin.call(
                    "PUT",
                    f"/subscriptions/{SUB}",
                    {
                        "properties": {
                            "billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}
                        }
                    },
                )
                admin.call("PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}", {"location": LOCATION})
                admin.call("PUT", _ws_path(), {"location": LOCATION})
                _add_model(
                    admin,
                    TINY_MODEL,
                    "chat-completion",
                    TINY_PROVIDER,
                    {"kind": "huggingface", "path": str(tiny_dir)},
                )
                _add_model(
                    admin,
                    UPSTREAM_MODEL,
                    "chat-completion",
                    UPSTREAM_PROVIDER,
                    {"kind": "openai-upstream", "url": upstream.url, "upstreamModel": UPSTREAM_WIRE_MODEL},
                )
                endpoints = _deploy(
                    admin,
                    {
                        TINY: (TINY_MODEL, TINY_PROVIDER),
                        UPSTREAM: (UPSTREAM_MODEL, UPSTREAM_PROVIDER),
                        EMBED: (EMBED_MODEL, "wordllama"),
                    },
                )
                yield InferenceWorld(server=server, upstream=upstream, endpoints=endpoints)
    finally:
        if builder.poll() is None:
            builder.kill()
            builder.communicate()
