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


def errors(record: Any) -> Iterator[tuple[str, str]]:
    """Yield (json_pointer, message) for every way ``record`` breaks the schema."""
    for err in validator().iter_errors(record):
        pointer = "/" + "/".join(str(p) for p in err.instance_path)
        yield pointer, _humane(err)


def is_valid(record: Any) -> bool:
    return validator().is_valid(record)


def _humane(err) -> str:
    kind = type(err.kind).__name__
    msg = err.message
    if kind == "Pattern" and err.schema_path and err.schema_path[-2] in ("instruction", "output"):
        return "must contain a non-whitespace character"
    if kind == "MinLength":
        return "must not be empty"
    if kind == "Enum":
        return f"{msg}"
    return msg
