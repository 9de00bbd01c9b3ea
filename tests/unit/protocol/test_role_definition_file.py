"""`role_definition_file`: the JSON Studio's "Create a custom role" takes, the same file as
`maas role definition create --role-definition role.json` (az's shape, or a role as shown)."""

from __future__ import annotations

import json

import pytest

from maas.controlplane.services.iam import scopes_above
from maas.core.errors import ValidationFailed
from maas.protocol.management.access import role_definition_file

SCOPE = "/subscriptions/s1/resourceGroups/rg1"
GUID = "0b5f3c8e-6a8f-4c1e-9d2a-3f4e5a6b7c8d"


def test_az_file_shape_any_key_case() -> None:
    guid, body = role_definition_file(
        json.dumps(
            {
                "name": "Endpoint reader",
                "IsCustom": True,
                "DESCRIPTION": "Reads",
                "Actions": ["a/b/read"],
                "notActions": ["a/b/secret/read"],
                "DataActions": ["a/b/score/action"],
                "AssignableScopes": [SCOPE],
            }
        )
    )
    assert guid is None
    props = body.properties
    assert props.role_name == "Endpoint reader" and props.description == "Reads"
    assert props.permissions[0].actions == ["a/b/read"]
    assert props.permissions[0].not_actions == ["a/b/secret/read"]
    assert props.permissions[0].data_actions == ["a/b/score/action"]
    assert props.assignable_scopes == [SCOPE]


def test_a_role_as_shown_keeps_its_guid() -> None:
    shown = {
        "id": f"/providers/Microsoft.Authorization/roleDefinitions/{GUID}",
        "name": GUID,
        "properties": {
            "roleName": "Shown",
            "permissions": [{"actions": ["*/read"]}],
            "assignableScopes": [SCOPE],
        },
    }
    guid, body = role_definition_file(json.dumps(shown))
    assert guid == GUID and body.properties.role_name == "Shown"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"Actions": ["*/read"], "AssignableScopes": [SCOPE]}), "needs the role's name"),
        (json.dumps({"Name": "X", "Actions": ["*/read"]}), "AssignableScopes"),
        (json.dumps({"Name": "X", "Actions": "*/read", "AssignableScopes": [SCOPE]}), "actions"),
    ],
)
def test_faults_are_400s_in_words(text: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        role_definition_file(text)
    assert words in raised.value.message


def test_scopes_above() -> None:
    ws = f"{SCOPE}/providers/Microsoft.MachineLearningServices/workspaces/ws1"
    assert scopes_above(ws) == ["/", "/subscriptions/s1", SCOPE, ws]
    assert scopes_above("/") == ["/"]
    assert scopes_above("/subscriptions/s1/") == ["/", "/subscriptions/s1"]
