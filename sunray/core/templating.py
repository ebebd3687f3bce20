"""Jinja2 rendering of every file the toolkit writes onto a server.

Templates are package resources (resources.read_template): ``templates/`` at
the top of a checkout, the package directory ``sunray/templates`` when
installed or bundled in the pyz. StrictUndefined: a missing variable is a
bug, never an empty string in an init script.
"""

import functools
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

from .resources import read_template

if TYPE_CHECKING:
    import jinja2


def _template_source(name: str) -> Optional[Tuple[str, str, Callable[[], bool]]]:
    """Jinja2's FunctionLoader protocol: (source, name, uptodate), None if missing."""
    try:
        source = read_template(name).decode("utf-8")
    except FileNotFoundError:
        return None
    # Resources do not change under a running program: a loaded template stays valid.
    return source, name, lambda: True


@functools.lru_cache(maxsize=None)
def environment(autoescape: bool = False) -> "jinja2.Environment":
    import jinja2  # lazy: keeps `sunray --help` fast

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, autoescape: bool = False, **context: Any) -> str:
    """Render template ``name`` with ``context``."""
    return environment(autoescape).get_template(name).render(**context)
