"""The daily /tmp cleaners (tmpwatch, systemd-tmpfiles, tmpreaper) taught to spare SRSS state."""
