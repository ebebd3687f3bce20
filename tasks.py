"""Invoke's entry point in a checkout: ``invoke --list``, ``invoke doctor``.

The tasks live in ``sunray.cli.tasks`` (the same namespace the ``sunray``
program runs); this file only hands Invoke that collection.
"""

from sunray.cli.tasks import ns  # noqa: F401
