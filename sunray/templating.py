"""Jinja2 rendering of every file the toolkit writes onto a server.

Templates live in ``templates/`` at the top of a checkout, installed as the
package directory ``sunray/templates``; spec files live in ``packaging/``.
StrictUndefined: a missing variable is a bug, never an empty string in an
init script.
"""

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    import jinja2

_HERE = Path(__file__).resolve().parent


def template_dir() -> Path:
    """The templates directory of a checkout, else of the installed package."""
    for candidate in (_HERE.parent / "templates", _HERE / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sunray templates directory not found")


def packaging_dir() -> Path:
    for candidate in (_HERE.parent / "packaging", _HERE / "packaging"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sunray packaging directory not found")


@functools.lru_cache(maxsize=None)
def environment(directory: Optional[Union[str, Path]] = None,
                autoescape: bool = False) -> "jinja2.Environment":
    import jinja2  # lazy: keeps `sunray --help` fast

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, directory: Optional[Union[str, Path]] = None, autoescape: bool = False,
           **context: Any) -> str:
    """Render template ``name`` with ``context``."""
    return environment(directory, autoescape).get_template(name).render(**context)
