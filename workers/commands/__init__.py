"""Subcommands of ``python -m workers``; each module has ``register(subparsers)``."""
