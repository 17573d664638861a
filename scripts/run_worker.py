"""One arq worker with the project's structured (JSON) logs: ``python -m scripts.run_worker``.

The same worker as ``arq workers.main.WorkerSettings``, whose CLI installs arq's own text
log format; here every record (arq's job lines included) goes through
``configure_logging`` like the app's. ``arq --check workers.main.WorkerSettings`` still
reads this worker's health key.
"""

from __future__ import annotations

from arq.worker import run_worker

from nocturne.api.logging import configure_logging
from workers.main import WorkerSettings


def main() -> None:
    """Run the worker until SIGINT/SIGTERM (arq finishes or cancels running jobs)."""
    configure_logging()
    run_worker(WorkerSettings)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
