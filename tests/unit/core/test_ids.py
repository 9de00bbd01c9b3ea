from __future__ import annotations

import pytest

from maas.core.errors import BadRequest
from maas.core.ids import ModelId, key_of, type_of


def test_model_id_with_and_without_version() -> None:
    plain = ModelId.parse("azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct")
    assert (plain.registry, plain.model, plain.version) == ("azureml-meta", "Meta-Llama-3-8B-Instruct", None)
    versioned = ModelId.parse("azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/3")
    assert versioned.version == "3"
    assert versioned.unversioned == str(plain)
    assert plain.resource_id == "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"


@pytest.mark.parametrize("text", ["", "meta-llama", "azureml://registries/r", "https://x/models/m"])
def test_malformed_model_ids_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(BadRequest, match="azureml://registries/<registry>/models/<model>"):
        ModelId.parse(text)


def test_keys_are_case_insensitive_and_types_come_from_ids() -> None:
    rid = (
        "/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices"
        "/workspaces/W/serverlessEndpoints/E"
    )
    assert key_of(rid) == rid.lower()
    assert type_of(rid) == "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints"
    assert type_of("/subscriptions/s") == ""
