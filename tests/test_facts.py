"""One fact, one place (issue 13.2): the programming languages' aliases are the taxonomy's, the
CodeXGLUE sources decontamination compares against come from the registry, and the modules that
used to repeat them read them from there."""
from __future__ import annotations

from mulco import sources, taxonomy
from mulco.sources import plangs
from mulco.steps import parse


def test_plang_aliases_live_in_the_taxonomy():
    assert plangs.ALIASES is taxonomy.PLANG_ALIASES
    assert set(taxonomy.PLANG_ALIASES.values()) == set(taxonomy.PLANGS)
    assert all(taxonomy.plang_from_alias(p) == p for p in taxonomy.PLANGS)
    assert taxonomy.plang_from_alias(" C# ") == plangs.from_alias("c#") == "csharp"
    assert set(parse.GRAMMARS) == set(taxonomy.PLANGS)
    # a fence tag is resolved through the same table by the parse check
    assert parse.code_blocks("```golang\nfunc f() {}\n```\n```python\nx = 1\n```", "go") == ["func f() {}\n"]


def test_codexglue_sources_come_from_the_registry():
    got = sources.codexglue()
    assert got == tuple(n for n in sources.names() if "CodeXGLUE" in sources.get(n).SPEC.title)
    assert "codealpaca" not in got and len(got) == 7


def test_the_decontamination_report_names_the_registrys_codexglue_sources(tmp_path):
    import json

    from mulco.build import BuildConfig, build

    build(BuildConfig(out=tmp_path / "out", progress=False))
    info = json.loads((tmp_path / "out" / "build_report.json").read_text())["decontamination"]["benchmarks"]
    assert info["codexglue_test"]["from"] == "test split of this build's " + ", ".join(sources.codexglue())


def test_tasks_subtasks_and_plangs_derive_from_the_taxonomy_tables():
    from mulco import card, templates
    from mulco.steps import dedup, text

    kinds = [k.subtask or k.task for k in taxonomy.KINDS]
    assert list(taxonomy.TASKS) == list(dict.fromkeys(k.task for k in taxonomy.KINDS))
    assert [s for t in taxonomy.TASKS for s in taxonomy.SUBTASKS[t]] == list(taxonomy.ALL_SUBTASKS)
    assert list(text.CODE_FIELDS) == kinds and set(templates.TEMPLATE_KEYS) == set(kinds) | set(templates.VARIANT_KEYS)
    assert set(dedup.ANSWER_KEYED) == {k.subtask for k in taxonomy.KINDS if k.short_answer}
    assert set(card.HUB_TASKS) == set(card.CODE_FIELDS) == {(k.task, k.subtask) for k in taxonomy.KINDS}
    assert set(card.SUBTASK_DESCRIPTIONS) == set(taxonomy.ALL_SUBTASKS) and set(card.TASK_DESCRIPTIONS) == set(taxonomy.TASKS)
    assert list(card.FENCE_LANG) == list(taxonomy.PLANGS) == list(parse.GRAMMARS)
    assert taxonomy.kind("code_search", "code_translation").code_fields == ("input", "output")
    # the record schema's enums agree with the tables
    from mulco import record

    props = record.schema()["properties"]
    assert set(props["plang"]["enum"]) - {None} == set(taxonomy.PLANGS)
    assert set(props["subtask"]["enum"]) - {None} == set(taxonomy.ALL_SUBTASKS)
