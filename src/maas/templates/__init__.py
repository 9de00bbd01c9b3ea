"""The ARM template engine: pure (no I/O), so it can be tested and reused on its own.

plan(template, parameters, scope) -> Plan     validate, evaluate and order a template
TemplateError                                 400 InvalidTemplate, target = the JSON path
"""

from maas.templates.errors import TemplateError
from maas.templates.functions import Scope, guid, unique_string
from maas.templates.template import Plan, PlannedResource, plan

__all__ = ["Plan", "PlannedResource", "Scope", "TemplateError", "guid", "plan", "unique_string"]
