# __main__ of sunray-VERSION.pyz (packaging/build_pyz.py puts it there):
# `python3 sunray-VERSION.pyz doctor`. Python 2 and 3.5 must be able to read
# this file, to say which Python the toolkit needs.
import os
import sys

if sys.version_info < (3, 6):
    # The start of the line is sunray.core.hookprogram.NO_PYTHON (the hooks look for it).
    sys.stderr.write("sunray: no usable Python: sunray needs 3.6 or later; this is %s (%s)\n"
                     % (sys.version.split()[0], sys.executable or "python"))
    sys.exit(1)

if sys.version_info < (3, 7):
    # 3.6 only: the byte code compiled for it (packaging/build_pyz.py), then
    # the dataclasses backport; on 3.7+ the standard library's dataclasses wins.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[0:0] = [os.path.join(here, "_py36", "bytecode"), os.path.join(here, "_py36")]

from sunray.cli.program import main  # noqa: E402

main()
