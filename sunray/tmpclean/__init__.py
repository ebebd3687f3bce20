"""The daily /tmp cleaners, taught to spare SRSS state (task patch-tmpwatch).

``core`` runs the task (patch, status, detect); ``registry`` lists the
cleaners, one module each (``tmpwatch``, ``tmpfiles``, ...), built from the
shared pieces in ``base``. ``shell`` reads shell words, ``dropin`` renders the
tmpfiles.d drop-in, ``checks`` holds the doctor checks.
docs/adding-a-tmp-cleaner.md shows how to add a cleaner.
"""
