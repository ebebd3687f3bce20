"""The command line: the `sunray` program, its tasks, and how results are printed."""
