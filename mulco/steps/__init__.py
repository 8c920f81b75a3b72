"""Quality steps. A record step returns ``None`` to keep a record or a reason string to drop it
(see :mod:`mulco.steps.pipeline` for the step types and how they run).

Steps run in order after conversion; the build counts every drop per step, source and config
and sends the record to the quarantine with the reason.
"""
