"""The /tmp cleaners sunray knows, in the order it treats and reports them.

Each name is a module of this package (``-`` written ``_``) that defines
``CLEANER``, a ``base.Cleaner`` with the same name. Adding a cleaner is that
module plus one line in ``NAMES``.

Import-light on purpose: ``sunray --help`` reads ``NAMES`` for the
``--cleaner`` help text; ``cleaners()`` imports the modules only when asked.
"""

import importlib
from typing import TYPE_CHECKING, List, Sequence

if TYPE_CHECKING:  # pragma: no cover - only for the type checker
    from .base import Cleaner

NAMES = (
    "tmpwatch",
    "tmpfiles",
    "tmpreaper",
)


def cleaners() -> "List[Cleaner]":
    """The cleaner objects, in the order of ``NAMES``."""
    return [importlib.import_module(f"{__package__}.{name.replace('-', '_')}").CLEANER
            for name in NAMES]


def spoken(names: Sequence[str] = NAMES, last: str = "or") -> str:
    """Names as a sentence lists them: "a, b or c"."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"
