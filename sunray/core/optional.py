"""Optional libraries: the extras of ``pip install 'sunray-toolkit[EXTRA]'``.

A task that needs one asks for it with ``require()``: when it is missing
the task ends with exit 2 and one line naming the extra to install, never
an ImportError. EXTRAS lists every library the toolkit imports that a
plain ``pip install sunray-toolkit`` does not bring; tests/test_plain_install.py
fails on an import of anything else not declared in pyproject.toml.
"""

import importlib
from types import ModuleType
from typing import Dict, Tuple

from .errors import UsageError

# Module -> (the distribution to name, the extra that brings it).
EXTRAS: Dict[str, Tuple[str, str]] = {
    "fabric": ("Fabric", "fleet"),
    "paramiko": ("Fabric", "fleet"),  # Fabric's SSH library
    "zstandard": ("zstandard", "zstd"),
    "xlsxwriter": ("XlsxWriter", "xlsx"),
    "yaml": ("PyYAML", "savings"),  # a faster loader only: Invoke's copy stands in
}


def require(module: str, purpose: str) -> ModuleType:
    """The module ``module``, or a UsageError: ``PURPOSE needs DIST: pip
    install 'sunray-toolkit[EXTRA]'`` (``purpose`` says who needs it, e.g.
    ``fleet``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        distribution, extra = EXTRAS[module]
        raise UsageError(f"{purpose} needs {distribution}: "
                         f"pip install 'sunray-toolkit[{extra}]'") from None
