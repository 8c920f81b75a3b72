"""The record: fields and validation from ``schemas/record.schema.json``, Features, ids.

The JSON Schema is the single definition of a record; :func:`features` derives the
``datasets.Features`` used for Parquet from it, and :func:`validator` compiles it once.
"""
from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from typing import Any, Iterator

SCHEMA_FILE = "record.schema.json"
Record = dict  # a plain dict with exactly the schema's properties


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(schema_text())


def schema_text() -> str:
    return resources.files("mulco").joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8")


def fields() -> tuple[str, ...]:
    """Field names in schema order (the Parquet column order)."""
    return tuple(schema()["properties"])


def enum(field: str) -> tuple:
    return tuple(schema()["properties"][field]["enum"])


_JSON_TO_ARROW = {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool"}


def dtypes() -> dict[str, str]:
    """Field -> Arrow/datasets dtype, from the schema (a nullable type maps to its non-null type)."""
    out = {}
    for name, prop in schema()["properties"].items():
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        (json_type,) = [t for t in types if t != "null"]
        out[name] = _JSON_TO_ARROW[json_type]
    return out


def features():
    """``datasets.Features`` derived from the schema."""
    from datasets import Features, Value

    return Features({name: Value(dtype) for name, dtype in dtypes().items()})


@functools.lru_cache(maxsize=1)
def arrow_schema():
    """The pyarrow schema of a MulCo Parquet file, with the Features in the ``huggingface``
    metadata that ``datasets`` reads (written as ``Features.arrow_schema`` writes it; a test
    checks they agree). Made without importing ``datasets``, which costs a build 0.8 s."""
    import pyarrow as pa

    types = dtypes()
    meta = {"info": {"features": {n: {"dtype": t, "_type": "Value"} for n, t in types.items()}}}
    return pa.schema([pa.field(n, getattr(pa, t)()) for n, t in types.items()],
                     metadata={"huggingface": json.dumps(meta)})


def make_id(source: str, source_id: str, task: str, subtask: str | None, lang: str) -> str:
    """Stable record id: sha256 of the provenance and task keys, first 16 hex digits."""
    key = "\x1f".join((source, source_id, task, subtask or "", lang))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def make_record(
    *,
    source: str,
    source_id: str,
    license: str,
    task: str,
    lang: str,
    instruction: str,
    input: str,
    output: str,
    subtask: str | None = None,
    plang: str | None = None,
    target_plang: str | None = None,
    text_origin: str = "native",
) -> Record:
    """Build a record with its id; field order is the schema's. ``text_origin``: how its
    natural-language text came to be (native | template | machine_translation; see the schema)."""
    rid = make_id(source, source_id, task, subtask, lang)
    return {
        "id": rid,
        "instruction": instruction,
        "input": input,
        "output": output,
        "task": task,
        "subtask": subtask,
        "lang": lang,
        "plang": plang,
        "target_plang": target_plang,
        "source": source,
        "source_id": source_id,
        "license": license,
        "text_origin": text_origin,
    }


@functools.lru_cache(maxsize=1)
def validator():
    """The schema compiled once (jsonschema-rs, Draft 2020-12)."""
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(schema())


def problems(obj: Any, compiled=None) -> list[tuple[str, str, str]]:
    """(JSON pointer, reason for a person, kind for counting) for every way ``obj`` breaks the schema
    (``compiled``: another compiled schema, default the record's :func:`validator`). The pointer of the record
    itself is ``""``; a missing or unexpected field's is the field's."""
    v = compiled or validator()
    if v.is_valid(obj):
        return []
    out = []
    for err in v.iter_errors(obj):
        pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in err.instance_path)
        out.extend(_problem(err, "" if pointer == "/" else pointer))
    return list(dict.fromkeys(out))  # an empty string breaks both minLength and pattern: said once


def _problem(err, pointer: str) -> list[tuple[str, str, str]]:
    kind = type(err.kind).__name__
    if kind == "Required":
        prop = err.kind.property
        return [(f"{pointer}/{prop}", "required field is missing", f"/{prop}: missing")]
    if kind == "AdditionalProperties":
        return [(f"{pointer}/{p}", "field is not part of a MulCo record", f"/{p}: unexpected field")
                for p in err.kind.unexpected]
    if kind == "Type":
        types = err.kind.types if isinstance(err.kind.types, (list, tuple)) else [err.kind.types]
        want = " or ".join(str(t) for t in types)
        return [(pointer, f"is {_type_name(err.instance)}, expected {want}", f"{pointer}: wrong type")]
    if kind == "Enum":
        opts = ", ".join("null" if o is None else str(o) for o in err.kind.options)
        return [(pointer, f"{err.instance!r} is not one of: {opts}", f"{pointer}: not an allowed value")]
    if kind in ("Pattern", "MinLength") and pointer in ("/instruction", "/output"):
        return [(pointer, "must contain a non-whitespace character", f"{pointer}: empty")]
    if kind == "MinLength":
        return [(pointer, "must not be empty", f"{pointer}: empty")]
    if kind == "Pattern":
        return [(pointer, f"{err.instance!r} does not match {err.kind.pattern}", f"{pointer}: bad format")]
    return [(pointer, err.message, f"{pointer}: {kind}")]


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def problem_text(pointer: str, reason: str) -> str:
    """One schema problem as people read it: ``/lang: 'fr' is not one of: en, zh``."""
    return f"{pointer or '(record)'}: {reason}"


def errors(record: Any) -> Iterator[tuple[str, str]]:
    """Yield (json_pointer, reason) for every way ``record`` breaks the schema (see :func:`problems`)."""
    for pointer, reason, _ in problems(record):
        yield pointer, reason


def is_valid(record: Any) -> bool:
    return validator().is_valid(record)
