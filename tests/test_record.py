import filecmp
import json

import pytest

from conftest import REPO
from mulco import record, sources, templates, taxonomy


def _good(**kw):
    base = dict(source="codealpaca", source_id="codealpaca/x.json:0", license="CC-BY-NC-4.0",
                task="code_generation", lang="en", plang="python",
                instruction="Write a function.", input="", output="def f(): pass")
    base.update(kw)
    return record.make_record(**base)


def test_schema_is_draft_2020_12_and_the_package_reads_the_repo_file():
    s = record.schema()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["additionalProperties"] is False
    assert set(s["required"]) == set(s["properties"])
    # the package's schema/ is the repo's schemas/ (one file, no copy to drift)
    assert filecmp.cmp(REPO / "schemas" / "record.schema.json", REPO / "mulco" / "schema" / "record.schema.json", shallow=False)


def test_features_are_derived_from_the_schema():
    feats = record.features()
    assert list(feats) == list(record.schema()["properties"])
    assert all(f.dtype == "string" for f in feats.values())
    # the Arrow schema written to Parquet (made without importing datasets) is the one datasets
    # makes from the Features, metadata included, byte for byte
    assert record.arrow_schema().equals(feats.arrow_schema, check_metadata=True)
    assert record.arrow_schema().metadata == feats.arrow_schema.metadata
    meta = json.loads(record.arrow_schema().metadata[b"huggingface"])
    assert list(meta["info"]["features"]) == list(feats)


def test_ids_are_stable_and_depend_on_source_row_task_and_lang():
    a = record.make_id("codealpaca", "f:1", "code_generation", None, "en")
    assert a == record.make_id("codealpaca", "f:1", "code_generation", None, "en")
    assert len(a) == 16 and int(a, 16) >= 0
    assert len({a, record.make_id("codealpaca", "f:2", "code_generation", None, "en"),
                record.make_id("codealpaca", "f:1", "code_generation", None, "zh"),
                record.make_id("codealpaca", "f:1", "code_search", "cloze_test", "en")}) == 4


def test_id_is_pinned():
    # changing the id recipe changes every record id of the published dataset
    import hashlib

    key = "codesearchnet\x1fcodesearchnet/ruby/test.jsonl:1\x1fcode_summarization\x1f\x1fen"
    assert record.make_id("codesearchnet", "codesearchnet/ruby/test.jsonl:1", "code_summarization", None, "en") == \
        hashlib.sha256(key.encode()).hexdigest()[:16] == "9cc38cddc6f6ccd2"


def test_a_good_record_is_valid():
    r = _good()
    assert list(record.errors(r)) == []
    assert list(r) == list(record.fields())


@pytest.mark.parametrize(
    "change, pointer, words",
    [
        ({"output": "   "}, "/output", "non-whitespace"),
        ({"instruction": ""}, "/instruction", "non-whitespace"),
        ({"lang": "fr"}, "/lang", "fr"),
        ({"plang": "kotlin"}, "/plang", "kotlin"),
        ({"task": "code_search"}, "/subtask", "string"),  # code_search needs a subtask
        ({"subtask": "cloze_test"}, "/subtask", "null"),  # generation has none
        ({"extra": 1}, "/extra", "not part of a MulCo record"),
        ({"id": 5}, "/id", "is an integer, expected string"),
        ({"target_plang": "java"}, "/target_plang", "null"),  # only translation has a target
    ],
)
def test_schema_rejects_with_pointer_and_reason(change, pointer, words):
    r = _good()
    r.update(change)
    errs = list(record.errors(r))
    assert errs, change
    assert any(p == pointer and words in m for p, m in errs), errs


def test_translation_needs_both_languages():
    r = _good(task="code_search", subtask="code_translation", plang="java", target_plang="csharp")
    assert list(record.errors(r)) == []
    r["target_plang"] = None
    assert any(p == "/target_plang" for p, _ in record.errors(r))


def test_source_enum_is_the_registry():
    assert list(record.enum("source")) == sources.names()


@pytest.mark.parametrize("lang", taxonomy.LANGS)
def test_templates_have_enough_distinct_variants(lang):
    data = templates.load(lang)["instructions"]
    for key in templates.TEMPLATE_KEYS:
        assert len(set(data[key])) >= templates.MIN_TEMPLATES, (lang, key)
        for t in data[key]:  # every template formats with the placeholders the converters pass
            t.format(plang="Java", target_plang="C#", n=3)


def test_template_choice_is_deterministic_and_uses_display_names():
    rid = record.make_id("codealpaca", "f:1", "code_search", "code_translation", "en")
    a = templates.instruction("code_translation", "en", rid, plang="java", target_plang="csharp")
    assert a == templates.instruction("code_translation", "en", rid, plang="java", target_plang="csharp")
    assert "C#" in a and "Java" in a
    zh = templates.instruction("code_translation", "zh", rid, plang="java", target_plang="csharp")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_labels_are_phrased_per_language():
    assert templates.label("clone_detection", True, "en") == "Yes"
    assert templates.label("clone_detection", False, "zh") == "否"
    assert templates.label("defect_detection", 1, "zh") == "是"
