"""The boot hook: install it (SysV or systemd) and what it runs at every boot."""
