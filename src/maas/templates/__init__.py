"""The ARM template engine: pure (no I/O), so it can be tested and reused on its own.

plan(template, parameters, scope) -> DeploymentPlan     validate, evaluate and order a template
TemplateError                                 400 InvalidTemplate, target = the JSON path
                                              (413 RequestContentTooLarge: TemplateTooLarge)
json_size(value, limit) -> int                a value's compact JSON length, bounded (limits.py)
"""

from maas.templates.errors import TemplateError, TemplateTooLarge
from maas.templates.functions import DeploymentScope, guid, unique_string
from maas.templates.limits import json_size
from maas.templates.template import DeploymentPlan, PlannedResource, plan

__all__ = [
    "DeploymentPlan",
    "DeploymentScope",
    "PlannedResource",
    "TemplateError",
    "TemplateTooLarge",
    "guid",
    "json_size",
    "plan",
    "unique_string",
]
