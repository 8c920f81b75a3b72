"""Quality steps. A record step returns ``None`` to keep a record or a reason string to drop it
(see :mod:`mulco.steps.pipeline` for the step types and how they run).

Steps run in order after conversion; the build counts every drop per step, source and config
and sends the record to the quarantine with the reason. The order, and everything each step
brings (config, settings, report section, warning when turned off), is one list:
:data:`mulco.steps.registry.STEPS` (entries declared in each step's module, see
:mod:`mulco.steps.spec`).
"""
