"""Code-repair records whose fix only adds or removes print statements (issue 23).

In CodeXGLUE's bug-fix pairs some "fixes" only add a ``System.out.println`` or remove one (or a
``printStackTrace``, a ``Log.d``): a real commit, but not a bug fix a model can learn to infer
from the buggy method. The step counts them in the report (flagged, by whether the fix adds or
removes prints) and keeps them; ``--drop-print-fixes`` drops them with the same reason. The
test for an edit is :func:`mulco.sources.codexglue_refinement.print_only_edit` (statements of
the space-tokenised method, compared in order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from ..record import Record
from .pipeline import Flag, RecordStep
from .spec import Settings, StepSpec

NAME = "print_only_fix"


@dataclass
class RepairConfig:
    """What is done with code-repair records whose fix only adds or removes print statements."""

    drop_print_fixes: bool = field(default=False, metadata={
        "help": "Drop code-repair records whose fix only adds or removes print statements (System.out.println, "
                "printStackTrace, Log.d); by default they are kept and counted in the report."})

    def repair_settings(self) -> dict:
        return {"drop_print_fixes": self.drop_print_fixes}


def print_only_fix(drop: bool) -> Callable[[Record], Optional[str]]:
    """``f(record)``: for a code-repair record whose fix only adds or removes prints, the reason
    (a :class:`Flag` unless ``drop``), else None."""
    from ..sources.codexglue_refinement import print_only_edit

    def check(record: Record) -> Optional[str]:
        if record.get("subtask") != "code_repair":
            return None
        how = print_only_edit(record.get("input") or "", record.get("output") or "")
        if how is None:
            return None
        reason = f"print-only fix ({how} print statements)"
        return reason if drop else Flag(reason)

    return check


#: the step's entry of mulco.steps.registry.STEPS
STEP = StepSpec(NAME, lambda cfg, inputs: RecordStep(NAME, print_only_fix(cfg.drop_print_fixes)), RepairConfig,
                settings=Settings("repair", RepairConfig.repair_settings))
