"""sunray: maintenance toolkit for Sun Ray (SRSS) thin-client servers.

Keep this module free of imports: ``sunray --help`` and ``invoke --list``
import it and must stay fast.
"""

__version__ = "0.1.0"
