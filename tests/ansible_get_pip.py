"""Stands in for get-pip.py when ansible-test makes its sanity venvs.

ansible-test bootstraps pip in an empty venv with a get-pip.py it downloads
from ci-files.testing.ansible.com (not reachable from CI here: only PyPI
is), unless ~/.ansible/test/cache/get_pip_VERSION.py exists. This script,
copied there by tests/test_ansible.py, runs the pip wheel that ships with
the interpreter (ensurepip's, or Debian's /usr/share/python-wheels) as
`pip install` with the arguments ansible-test gives: pip then installs the pinned pip,
setuptools and wheel from PyPI like get-pip.py would.
"""

import ensurepip
import glob
import os
import sys

places = [os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"), "/usr/share/python-wheels"]
wheels = sorted(w for place in places for w in glob.glob(os.path.join(place, "pip-*.whl")))
if not wheels:
    sys.exit("no pip wheel beside this Python (ensurepip) to bootstrap pip with")
sys.path.insert(0, wheels[-1])

from pip._internal.cli.main import main  # noqa: E402

# get-pip.py's arguments are those of `pip install`.
sys.exit(main(["install"] + sys.argv[1:]))
