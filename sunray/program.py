"""The ``sunray`` program: the same tasks as ``invoke`` in a checkout.

Hooks and admins call it from anywhere (``sunray boot``). Unlike the stock
Invoke program, a command-line parse error exits 2 (bad usage), like every
other usage error of the toolkit.
"""

import sys

from invoke import Program
from invoke.exceptions import Exit
from invoke.parser import ParseError

from . import __version__


class SunrayProgram(Program):
    def parse_core(self, argv):
        try:
            super().parse_core(argv)
        except (ParseError, ValueError) as e:
            raise Exit(f"sunray: {e}", code=2) from None

    def parse_tasks(self):
        try:
            super().parse_tasks()
        except (ParseError, ValueError) as e:  # ValueError: --jobs abc on an int flag
            raise Exit(f"sunray: {e}", code=2) from None


def main(argv=None):
    from . import tasks

    program = SunrayProgram(
        namespace=tasks.ns, name="sunray", binary="sunray", version=__version__
    )
    try:
        program.run(argv if argv is not None else sys.argv)
    except BrokenPipeError:
        # `sunray --help | head`: the reader left; that is not an error.
        sys.stderr.close()
        sys.exit(0)


if __name__ == "__main__":  # python -m sunray.program
    main()
