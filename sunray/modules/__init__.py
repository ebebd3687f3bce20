"""SRSS kernel modules (utadem, utdisk, utio): rebuild per kernel, kernel hooks, DKMS export."""
