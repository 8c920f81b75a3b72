"""The ``schema`` step: a record that ``schemas/record.schema.json`` rejects is dropped, with the
first problem as its reason (:func:`mulco.steps.validate.schema_errors`, jsonschema-rs compiled once)."""
from __future__ import annotations

from .pipeline import RecordStep
from .spec import StepSpec


def _make(cfg, inputs) -> RecordStep:
    from .validate import schema_errors

    return RecordStep("schema", schema_errors)


#: the schema check's entry of mulco.steps.registry.STEPS (no settings: the schema is the one definition)
STEP = StepSpec("schema", _make)
