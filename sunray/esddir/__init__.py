"""The esd directory, ``/tmp/.esd`` (task ``esd-dir``): root:root, mode 1777.

- ``place``: where it is (``esd_path``, the ``sunray.esd.dir`` setting) and
  the fd-based steps on it that the fix and its revert share;
- ``fix``: ``inspect`` (read-only) and ``ensure`` (the task; ``revert=True``
  undoes it), the interface ``boot`` and ``apply`` use;
- ``revert``: the record of what was found, and ``esd-dir --revert``;
- ``checks``: the doctor's ``esd-dir`` row.

Keep this file free of imports: ``sunray --help`` goes through here.
"""
