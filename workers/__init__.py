"""arq workers: ``arq workers.main.WorkerSettings``; ``python -m workers status``."""
