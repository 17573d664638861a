"""``python -m workers digest``: see :mod:`workers.digest_cli` (owned with the email code)."""

from workers.digest_cli import register

__all__ = ["register"]
