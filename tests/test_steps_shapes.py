"""Code translation judged by its shape (issue 23, item 3): one name-abstracted code shape (the
AWS-SDK request pattern) was 14 % of EN translation, and 58 records output their input."""
from __future__ import annotations

from mulco.record import make_record
from mulco.steps.pipeline import Corpus, run_steps
from mulco.steps.shapes import ShapeConfig, TranslationShapes, cap, copies_input, shape

AWS = """public virtual {op}Response {op}({op}Request request){{
    var options = new InvokeOptions();
    options.RequestMarshaller = {op}RequestMarshaller.Instance;
    options.ResponseUnmarshaller = {op}ResponseUnmarshaller.Instance;
    return Invoke<{op}Response>(request, options);
}}"""
OPS = ["ListTables", "DescribeStream", "PutItem", "GetBucketPolicy", "DeleteQueue", "CreateAlias", "TagResource",
       "StopInstances", "ListUsers", "GetObject", "UpdateTable", "DescribeVolumes"]


def rec(n, inp, out, lang="en", plang="csharp", target="java"):
    return make_record(source="codexglue_translation", source_id=f"t:{n}", license="x", task="code_search",
                       subtask="code_translation", lang=lang, plang=plang, target_plang=target,
                       instruction="Translate this C# code into Java.", input=inp, output=out)


def test_the_shape_abstracts_names_strings_and_numbers_but_keeps_keywords():
    a, b = shape(AWS.format(op="ListTables")), shape(AWS.format(op="PutItem"))
    assert a == b and a.startswith("public virtual ID ID ( ID ID ) { var ID = new ID ( ) ;")
    assert shape('if (x > 10) { s = "a"; c = \'b\'; }') == "if ( ID > NUM ) { ID = STR ; ID = STR ; }"
    assert shape("public int Get() { return count; }") != shape("public int Get() { return count + 1; }")
    assert copies_input({"input": "int  X = 1;", "output": "int x = 1;\n"})
    assert not copies_input({"input": "int x = 1;", "output": "long x = 1;"}) and not copies_input({"input": ""})


def test_cap_is_the_largest_count_within_the_share_of_what_is_left():
    assert cap([30, *[1] * 20], 0.1) == 2  # 2 <= 0.1 * 22, 3 > 0.1 * 23
    assert cap([5, 5], 0.5) == 5 and cap([], 0.05) == 1
    c = cap([1550, 1543, *[1] * 8300], 0.05)
    assert c <= 0.05 * (8300 + 2 * c) and c + 1 > 0.05 * (8300 + 2 * (c + 1))


def test_a_dominant_shape_is_capped_across_splits_and_copies_are_dropped():
    family = [rec(k, AWS.format(op=op), f"public {op}Result {op}({op}Request r) {{ return invoke(r); }}")
              for k, op in enumerate(OPS)]
    others = [rec(100 + k, f"public int F{k}(int a) {{ return a {'+-*/%'[k % 5]} {k}; }}" + " x++;" * k,
                  f"public int f{k}(int a) {{ return a; }}") for k in range(20)]
    copy = rec(200, "public void Run() { Start(); }", "public void run() { start(); }")
    records = [*family, *others, copy]
    splits = ["test" if k < 4 else "train" for k in range(len(family))] + ["train"] * 21
    corpus = Corpus(records, splits, [r["source"] for r in records], threads=1)
    results, dropped = run_steps(corpus, [TranslationShapes(ShapeConfig(shape_max_share=0.1))])
    st = results[0].stats["by_lang"]["en"]
    assert st["records"] == 33 and st["copies_dropped"] == 1 and st["cap"] == 2 and st["capped_shapes"] == 1
    assert dropped[len(records) - 1].reason == "translation output is its input (letter case and whitespace ignored)"
    kept_family = [i for i in range(len(family)) if i not in dropped]
    assert len(kept_family) == 2 and sorted(splits[i] for i in kept_family) == ["test", "train"]  # 4:8 of the family
    assert all(i not in dropped for i in range(len(family), len(family) + 20))
    reasons = {dropped[i].reason for i in range(len(family)) if i in dropped}
    assert reasons == {"code shape over its cap: 12 records share this name-abstracted shape, 2 kept (0.1 of the "
                       "translation records)"}
    assert {dropped[i].matched for i in range(len(family)) if i in dropped} == {min(records[i]["id"] for i in kept_family)}
    assert st["largest_share_before"] == round(12 / 32, 4) and st["largest_share_after"] <= 0.1
    # deterministic whatever the record order
    rev = list(reversed(records))
    corpus2 = Corpus(rev, list(reversed(splits)), [r["source"] for r in rev], threads=1)
    _, dropped2 = run_steps(corpus2, [TranslationShapes(ShapeConfig(shape_max_share=0.1))])
    assert {rev[i]["id"] for i in dropped2} == {records[i]["id"] for i in dropped}
