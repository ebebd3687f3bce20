"""The shared layer every task stands on: the tree under ``--root``, safe
file writes, backups, the state directory, the lock and the run journal,
settings, templates, reports and errors.

Core imports no concern (``tmpclean``, ``esddir``, ``boot``, ``modules``,
``esound``, ``savings``) and nothing above them; ``tests/test_layers.py``
holds it to that. Keep this file free of imports: ``sunray --help`` goes
through here.
"""
