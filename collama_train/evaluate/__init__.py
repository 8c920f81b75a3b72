"""``collama-eval``: generate answers for MulCo configs (and HumanEval/MBPP), score them with each
task's own metric, and compare runs.

One module per metric family (``bleu``, ``text``, ``classify``, ``passk``), the answer clean-up in
``postprocess``, the (task, subtask) -> prompt/postprocess/metrics table in ``registry``, the
execution sandbox in ``sandbox``, HumanEval/MBPP in ``execution``, generation backends in
``backends``, and ``runner``/``report``/``cli`` tying them together. Nothing here imports torch at
module level.
"""
