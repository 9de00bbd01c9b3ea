"""The CLI's one error mapping: SDK errors as the `ERROR: (Code) message [target: …]; (detail)
…` line on stderr, and their exit codes."""

from __future__ import annotations

import httpx
import pytest
import typer

from maas.cli.errors import error_line, sdk_errors
from maas.sdk import HttpResponseError, ServiceRequestError, ValidationError


def refused(status: int, body: object) -> HttpResponseError:
    response = (
        httpx.Response(status, json=body) if not isinstance(body, str) else httpx.Response(status, text=body)
    )
    return HttpResponseError.from_response(response)


def test_an_arm_error_prints_its_target_and_details() -> None:
    error = refused(
        400,
        {
            "error": {
                "code": "InvalidTemplate",
                "message": "The template is wrong.",
                "target": "resources[0]",
                "details": [
                    {"code": "UnknownParameter", "message": "No 'x'.", "target": "parameters.x"},
                    {"code": "Other", "message": "And this."},
                ],
            }
        },
    )
    assert error_line(error) == (
        "(InvalidTemplate) The template is wrong. [target: resources[0]]; "
        "(UnknownParameter) No 'x'. [target: parameters.x]; (Other) And this."
    )


def test_an_answer_without_the_envelope_prints_its_status_and_text() -> None:
    assert error_line(refused(502, "bad gateway\n")) == "(HTTP 502) bad gateway"


def test_sdk_errors_exit_1_for_the_server_and_the_network_and_2_for_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = [
        (refused(404, {"error": {"code": "NotFound", "message": "No such thing."}}), 1),
        (ServiceRequestError("cannot reach MaaS at http://x: refused"), 1),
        (ValidationError("endpoint.yml: name: required"), 2),
    ]
    for error, code in cases:
        with pytest.raises(typer.Exit) as exited, sdk_errors(about="f.json"):
            raise error
        assert exited.value.exit_code == code
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "ERROR: f.json: (NotFound) No such thing.",
        "ERROR: cannot reach MaaS at http://x: refused",
        "ERROR: endpoint.yml: name: required",
    ]
