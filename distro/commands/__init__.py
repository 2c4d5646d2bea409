"""Subcommands of the `distro` command line, one module per area."""
