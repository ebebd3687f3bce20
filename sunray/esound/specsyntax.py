"""How a spec file is read: its section headers and shell logical lines.

Shared by the OSS rewrite (``spec``) and the daemon's restore (``daemon``).
"""

import re
from typing import Iterator, List

# Section headers of a spec file: group 1 the section, group 2 its arguments
# (-n NAME, -f FILE).
SECTION = re.compile(
    r"^%(package|description|prep|build|install|check|clean|files|changelog|"
    r"pre|post|preun|postun|pretrans|posttrans|triggerin|triggerun|triggerpostun|"
    r"verifyscript|generate_buildrequires|conf)\b(.*)$"
)


def logical_lines(lines: List[str]) -> Iterator[List[int]]:
    """Group physical lines into shell logical lines (backslash continuation)."""
    group = []
    for i, line in enumerate(lines):
        group.append(i)
        if not line.rstrip("\n").endswith("\\"):
            yield group
            group = []
    if group:
        yield group
