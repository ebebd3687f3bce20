"""The files the toolkit ships beside its code: templates and data.

Read as package resources, so they come from wherever the ``sunray`` package
was imported: a checkout, an installed copy (pip, the RPM's private
directory) or the zip of ``sunray-VERSION.pyz``. Nothing is looked up beside
an installed copy. One exception, for the checkout only: its templates live
in ``templates/`` at the top (the design card's layout), installed as the
package directory ``sunray/templates``.
"""

import pkgutil
from pathlib import Path
from typing import Optional

# This file is sunray/core/resources.py: the package directory is one up.
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def read(name: str) -> bytes:
    """The bytes of resource ``name``, a '/'-separated path inside the sunray
    package (e.g. ``savings/data/carbon-intensity.csv``).

    FileNotFoundError when the package has no such resource.
    """
    try:
        data = pkgutil.get_data("sunray", name)
    except FileNotFoundError:
        raise
    except OSError as e:  # zipimport says "can't read" with a plain OSError
        raise FileNotFoundError(f"sunray resource {name} not found ({e})") from None
    if data is None:  # a loader without get_data: not one sunray is shipped with
        raise FileNotFoundError(f"sunray resource {name}: the package's loader cannot read it")
    return data


def checkout_templates() -> Optional[Path]:
    """The top-level templates/ when this package is a source checkout's
    (pyproject.toml beside it), else None."""
    top = _PACKAGE_DIR.parent
    if (top / "pyproject.toml").is_file() and (top / "templates").is_dir():
        return top / "templates"
    return None


def read_template(name: str) -> bytes:
    """The bytes of template ``name``: ``sunray/templates/NAME`` in an
    installed copy or the pyz, ``templates/NAME`` in a checkout."""
    if name.startswith("/") or ".." in name.split("/"):
        raise FileNotFoundError(f"sunray template {name!r}: not a template name")
    try:
        return read(f"templates/{name}")
    except FileNotFoundError:
        checkout = checkout_templates()
        if checkout is None or not (checkout / name).is_file():
            raise
        return (checkout / name).read_bytes()
