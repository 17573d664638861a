"""One production app process: Reflex's back end with the exported front end mounted.

``reflex run --env prod --backend-only`` never mounts the built pages (Reflex 0.10.1 sets
``REFLEX_MOUNT_FRONTEND_COMPILED_APP`` from the running mode, so an env var is
overwritten), and a full ``reflex run --env prod`` rebuilds the front end in every
process. This runs Reflex's own production launcher (Granian) on the front end that
``reflex export`` built once, so each process serves the pages (dynamic routes such as
/city/<id> included), the event websocket and the API.

    python -m scripts.serve_app --port 3101
"""

from __future__ import annotations

import argparse

from reflex_base import constants
from reflex_base.config import get_config
from reflex_base.constants.base import LogLevel
from reflex_base.environment import environment


def main() -> None:
    """Serve the app on ``--host``:``--port`` until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loglevel", default="warning", choices=[lv.value for lv in LogLevel])
    args = parser.parse_args()

    from reflex.utils import exec as rx_exec
    from reflex.utils import prerequisites

    prerequisites.assert_in_reflex_dir()
    if not (prerequisites.get_web_dir() / constants.Dirs.STATIC / "index.html").exists():
        raise SystemExit("no built front end: run `reflex export --frontend-only` first")
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)  # built once by `reflex export`
    get_config()._set_persistent(frontend_port=args.port, backend_port=args.port)
    rx_exec.run_backend_prod(
        args.host, args.port, LogLevel(args.loglevel), mount_frontend_compiled_app=True
    )


if __name__ == "__main__":
    main()
