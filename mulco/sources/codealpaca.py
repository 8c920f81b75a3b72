"""CodeAlpaca: 20k instruction-following examples for code, made with self-instruct.

Raw file: ``codealpaca/code_alpaca_20k.json`` (or ``code_alpaca_2k.json``), one JSON array of
``{"instruction", "input", "output"}`` objects (https://github.com/sahil280114/codealpaca).
Records: English ``code_generation``, instruction/input/output kept as written; ``plang`` is the
one language the instruction names, else a tagged code fence in the output, else the language
detected by a tree-sitter parse of the output (:func:`mulco.sources.plangs.detect`: the one
language whose markers show and whose grammar parses it), else null (HTML, CSS, shell, Swift ...).

An answer in prose (:func:`mulco.sources.plangs.is_prose`: no code fence, at least 6 words,
under 3 % code symbols, most lines ending like a sentence, no language detected) is not code
generation: the row is quarantined ("prose answer"). So is an answer no language was found for
that is a value or a sentence with nothing of code (:func:`mulco.sources.plangs.not_code`:
``19`` for "find the sum", ``pet`` for a classification, ``The complexity of binary search is
O(log n).``; issue 23): the instruction asks to compute or classify, not to write code, and the
answer teaches no code ("value answer", "prose answer"). Quarantined rather than relabelled:
MulCo has no task for such question answering, and code generation must stay code.
Data license CC BY-NC 4.0 (code Apache-2.0).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..record import Record, make_record
from . import plangs
from .base import BadRow, Rejected, Row, SourceSpec, glob_files, iter_json_array, need_str, rel

SPEC = SourceSpec(
    name="codealpaca",
    title="CodeAlpaca",
    url="https://github.com/sahil280114/codealpaca",
    license="CC-BY-NC-4.0",
    license_url="https://creativecommons.org/licenses/by-nc/4.0/",
    patterns=("codealpaca/code_alpaca_*.json",),
    expected="codealpaca/code_alpaca_20k.json: a JSON array of {instruction, input, output}",
    citation=(
        "@misc{codealpaca,\n  author = {Sahil Chaudhary},\n  title = {Code Alpaca: An Instruction-following "
        "LLaMA model for code generation},\n  year = {2023},\n  publisher = {GitHub},\n"
        "  howpublished = {\\url{https://github.com/sahil280114/codealpaca}}\n}"
    ),
    produces=(("code_generation", None),),
    unit="array item",
)


def find(raw_dir: Path) -> list[Path]:
    return glob_files(raw_dir, SPEC.patterns)


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    for path in files:
        name = rel(raw_dir, path)
        yield from iter_json_array(path, name)


def to_records(row: Row) -> list[Record]:
    instruction = need_str(row.data, "instruction")
    inp = need_str(row.data, "input", allow_empty=True)
    output = need_str(row.data, "output")
    if plangs.is_prose(output):
        raise BadRow("prose answer, not code: outside code generation", "output")
    plang = plangs.mentioned(instruction) or plangs.from_fences(output) or plangs.detect(output)
    kind = plangs.not_code(output) if plang is None else None
    if kind:
        raise BadRow(f"{kind} answer, not code: outside code generation", "output")
    return [
        make_record(
            source=SPEC.name, source_id=row.source_id, license=SPEC.license,
            task="code_generation", lang="en", plang=plang,
            instruction=instruction.strip(), input=inp.strip(), output=output,
        )
    ]
