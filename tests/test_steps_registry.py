"""One list of quality steps (mulco/steps/registry.py): a new corpus-wide step is one entry there
(its module declares config, settings, report section and "turned off" warning), and the build,
the config and the report derive everything from the list, naming no step themselves."""
from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

from conftest import REPO
from mulco.build import BuildConfig, build, quality_steps
from mulco.steps import registry
from mulco.steps.pipeline import Corpus, Outcome
from mulco.steps.spec import LAST, Section, Settings, StepSpec, ran_stats

# -- a toy corpus-wide step, declared the way a step module declares one -------------------------


@dataclass
class ToyConfig:
    """Settings of the toy step."""

    toy: bool = field(default=True, metadata={"help": "Drop records whose output has few words."})
    toy_min_words: int = field(default=40, metadata={"range": "[1, 1000]", "help": "Fewest words an output needs."})


@dataclass
class ToyStep:
    cfg: ToyConfig
    name: str = "toy_short"

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        alive = np.flatnonzero(corpus.alive).tolist()
        for i in alive:
            words = len(str(corpus.records[i].get("output") or "").split())
            if words < self.cfg.toy_min_words:
                out.drops.append((i, f"toy: {words} words in the output", None))
        out.stats.update(min_words=self.cfg.toy_min_words, seen=len(alive))
        return out


def _toy_section(results):
    return ran_stats(results, ToyStep.name)


def _toy_markdown(report):
    toy = report.get("toy")
    return ["## Toy", "", f"{toy['dropped']:,} of {toy['seen']:,} dropped (under {toy['min_words']} words).", ""] if toy else []


def _toy_card(report):
    toy = report.get("toy")
    return [f"Toy: {toy['dropped']:,} records with under {toy['min_words']} words dropped."] if toy else []


TOY = StepSpec(ToyStep.name, lambda cfg, inputs: ToyStep(cfg), ToyConfig, enabled=lambda cfg: cfg.toy,
               settings=Settings("toy", lambda cfg: {"toy_min_words": cfg.toy_min_words}),
               section=Section("toy", _toy_section, markdown=((LAST, _toy_markdown),), card=((LAST, _toy_card),)),
               off_warning="toy step turned off: short outputs were kept")


@dataclass
class ToyBuildConfig(ToyConfig, BuildConfig):
    """What mulco.build.BuildConfig is once TOY is in the list (its bases come from the list)."""


@pytest.fixture
def with_toy(monkeypatch):
    monkeypatch.setattr(registry, "STEPS", [*registry.STEPS, TOY])


def test_a_new_step_added_in_one_place_runs_and_has_its_report_section_and_settings(with_toy, tmp_path):
    assert registry.config_bases()[0] is ToyConfig  # BuildConfig's bases derive from the list
    res = build(ToyBuildConfig(out=tmp_path / "out", progress=False, toy_min_words=40), log=None)
    report = json.loads((res.out / "build_report.json").read_text(encoding="utf-8"))
    names = [s["step"] for s in report["steps"]]
    assert names[-1] == "toy_short" and names[:-1] == [s.name for s in registry.STEPS[:-1] if s.enabled(BuildConfig())]
    toy = report["toy"]
    assert toy["dropped"] == report["steps"][-1]["dropped"] > 0 and toy["min_words"] == 40
    assert toy["seen"] == report["steps"][-1]["records_in"]
    keys = list(report)
    assert keys.index("parse") < keys.index("toy") < keys.index("provenance")  # after the other steps' sections
    assert report["settings"]["toy"] == {"toy_min_words": 40}
    assert report["reconciles"] and sum(s["records_dropped"].get("toy_short: toy", 0) for s in report["sources"].values()) == toy["dropped"]
    quarantined = [json.loads(line) for line in (res.out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sum(q["stage"] == "toy_short" for q in quarantined) == toy["dropped"]
    md = (res.out / "build_report.md").read_text(encoding="utf-8")
    assert f"## Toy\n\n{toy['dropped']:,} of {toy['seen']:,} dropped (under 40 words)." in md
    assert md.index("## Parse check") < md.index("## Toy") < md.index("## Per config")
    assert "| toy | toy_min_words | `40` |" in md
    assert "toy step turned off" not in md
    card = (res.out / "README.md").read_text(encoding="utf-8")  # and the card says what the step found
    assert f"Toy: {toy['dropped']:,} records with under 40 words dropped." in card
    assert card.index("Parse check: code that does not parse") < card.index("Toy: ")

    off = build(ToyBuildConfig(out=tmp_path / "off", progress=False, toy=False), log=None)
    report = json.loads((off.out / "build_report.json").read_text(encoding="utf-8"))
    assert "toy" not in report and "toy_short" not in [s["step"] for s in report["steps"]]
    assert "toy step turned off: short outputs were kept" in report["warnings"]
    assert "> **Warning:** toy step turned off" in (off.out / "build_report.md").read_text(encoding="utf-8")


def test_a_new_steps_settings_are_flags_with_their_range(with_toy):
    from mulco.args import add_dataclass_arguments

    p = argparse.ArgumentParser(exit_on_error=False)
    add_dataclass_arguments(p, ToyBuildConfig)
    assert p.parse_args(["--toy-min-words", "7", "--no-toy"]).toy_min_words == 7
    with pytest.raises(argparse.ArgumentError, match=r"in \[1, 1000\]"):
        p.parse_args(["--toy-min-words", "0"])
    with pytest.raises(ValueError, match=r"toy-min-words must be an integer in \[1, 1000\]"):
        ToyBuildConfig(toy_min_words=5000)


# -- the list is the one place -------------------------------------------------------------------


def test_build_config_settings_and_steps_come_from_the_list():
    cfg = BuildConfig()
    assert tuple(c for c in BuildConfig.__mro__ if c in registry.configs()) == registry.config_bases()
    groups = [s.settings.key for s in registry.STEPS if s.settings]
    assert list(cfg.quality_settings()) == list(dict.fromkeys(groups))
    names = [s.name for s in registry.STEPS]
    assert len(set(names)) == len(names)
    made = quality_steps(BuildConfig(zh_twins="none", profile="seed"), None)
    assert [s.name for s in made] == names  # every step on: all of them, in the list's order
    off = BuildConfig(parse_check=False, decontaminate=False)
    assert [s.name for s in quality_steps(off, None)] == [s.name for s in registry.STEPS if s.enabled(off)]
    assert "parse" not in [s.name for s in quality_steps(off, None)]


def _string_constants(path) -> set[str]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs}


def _attributes(path) -> set[str]:
    return {n.attr for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Attribute)}


def test_build_and_report_name_no_step_nor_read_a_steps_settings():
    """No name switch: mulco/build.py, mulco/report.py and the registry's machinery never name a step,
    a step's report section or settings group, nor read a field of a step's config."""
    names = {s.name for s in registry.STEPS}
    keys = {s.section.key for s in registry.STEPS if s.section} | {s.settings.key for s in registry.STEPS if s.settings}
    fields = {f.name for c in registry.configs() for f in dataclasses.fields(c)}
    for rel in ("mulco/build.py", "mulco/report.py", "mulco/card.py", "mulco/steps/registry.py", "mulco/steps/spec.py",
                "mulco/steps/pipeline.py"):
        path = REPO / rel
        assert not (_string_constants(path) & (names | keys)), rel
        assert not (_attributes(path) & fields), rel


def test_each_step_module_names_only_its_own_steps():
    """A step's name is written in its own module only (the registry lists the specs, not names)."""
    owner = {}
    for spec in registry.STEPS:
        module = spec.make.__module__
        owner[spec.name] = REPO / (module.replace(".", "/") + ".py")
    for name, path in owner.items():
        for other in set(owner.values()) - {path}:
            assert name not in _string_constants(other), f"{name!r} is named in {other.relative_to(REPO)}"


def test_the_docs_table_lists_the_steps_in_order():
    text = (REPO / "docs" / "quality.md").read_text(encoding="utf-8")
    table = text.split("## Steps, in order", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert rows == [s.name for s in registry.STEPS]
