"""Bodies for template deployments (`Microsoft.Resources/deployments`, api-version 2021-04-01)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties


class DeploymentProperties(ReadOnlyProperties):
    template: Any = None
    template_link: Any = Field(default=None, alias="templateLink")
    parameters: Any = None
    parameters_link: Any = Field(default=None, alias="parametersLink")
    mode: str = "Incremental"
    debug_setting: Any = Field(default=None, alias="debugSetting")
    on_error_deployment: Any = Field(default=None, alias="onErrorDeployment")
    expression_evaluation_options: Any = Field(default=None, alias="expressionEvaluationOptions")
    validation_level: Any = Field(default=None, alias="validationLevel")


class DeploymentBody(ArmBody):
    location: str | None = Field(default=None, max_length=64)
    properties: DeploymentProperties
