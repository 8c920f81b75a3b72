import pytest

from mulco import record, taxonomy
from mulco.taxonomy import Selector, UnknownConfigError


@pytest.mark.parametrize(
    "name, sel",
    [
        ("all", Selector()),
        ("zh", Selector(lang="zh")),
        ("code_search", Selector("code_search")),
        ("code_search.en", Selector("code_search", lang="en")),
        ("code_search.clone_detection.en", Selector("code_search", "clone_detection", "en")),
        ("code_summarization.zh.python", Selector("code_summarization", None, "zh", "python")),
        ("code_search.code_translation.java", Selector("code_search", "code_translation", None, "java")),
        ("code_generation.sql", Selector("code_generation", plang="sql")),
    ],
)
def test_parse_and_format_round_trip(name, sel):
    assert taxonomy.parse(name) == sel
    assert taxonomy.format_name(sel) == name


@pytest.mark.parametrize(
    "bad, close",
    [
        ("code_search.clone_detecton.en", "code_search.clone_detection.en"),
        ("code_serch.en", "code_search.en"),
        ("code_generation.clone_detection", None),  # subtask of another task
        ("code_search.en.clone_detection", None),  # wrong order
        ("code_summarization.zh.pyhton", "code_summarization.zh.python"),
    ],
)
def test_unknown_names_list_close_valid_names(bad, close):
    with pytest.raises(UnknownConfigError) as e:
        taxonomy.parse(bad)
    assert repr(bad) in str(e.value)
    if close:
        assert close in str(e.value)


def test_all_names_parse_and_are_unique():
    names = taxonomy.all_names()
    assert len(names) == len(set(names))
    for n in names:
        assert taxonomy.format_name(taxonomy.parse(n)) == n


def test_config_names_are_exactly_the_selectors_of_the_leaves():
    leaves = [("code_search", "clone_detection", "en", "java"), ("code_generation", None, "zh", None)]
    names = taxonomy.config_names(leaves)
    assert names[:3] == ["all", "en", "zh"]
    assert "code_search.clone_detection.en.java" in names
    assert "code_search.java" in names and "code_search.en" in names
    assert "code_generation.zh" in names
    assert "code_generation.zh.python" not in names  # selects nothing
    for n in names:  # every name selects at least one leaf
        assert any(taxonomy.parse(n).matches(*leaf) for leaf in leaves)


def test_check_available_names_built_alternatives():
    with pytest.raises(UnknownConfigError, match="selects no record"):
        taxonomy.check_available("code_search.zh", ["all", "code_search", "code_search.en"])


def test_taxonomy_and_schema_enums_agree():
    assert set(record.enum("task")) == set(taxonomy.TASKS)
    assert set(record.enum("subtask")) - {None} == set(taxonomy.ALL_SUBTASKS)
    assert set(record.enum("lang")) == set(taxonomy.LANGS)
    assert set(record.enum("plang")) - {None} == set(taxonomy.PLANGS)
    assert set(record.enum("target_plang")) - {None} == set(taxonomy.PLANGS)
    assert set(taxonomy.PLANG_NAMES) == set(taxonomy.PLANGS)
