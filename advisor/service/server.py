"""`advisor serve`: uvicorn running the app factory, with JSON access logs and a bounded
graceful shutdown.

The factory is passed by import string so that ``--workers N`` starts N processes that
each build their own app (and database engine) from the environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from advisor.errors import InputError
from advisor.service.middleware import ACCESS_LOGGER

#: On SIGTERM uvicorn stops accepting, lets requests in flight finish for this long,
#: then closes what is left. 30 s covers a cold profile of a large zoo model.
GRACEFUL_SHUTDOWN_S = 30


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's own messages as usual on stderr; one JSON object per request on stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json_line": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "json_line", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            ACCESS_LOGGER: {"handlers": ["access"], "level": level.upper(), "propagate": False},
        },
    }


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, models_dir: Path | None = None) -> None:
    """Run until SIGINT/SIGTERM. Settings come from ADVISOR_DB and ADVISOR_API_TOKEN.

    ``models_dir`` is the only directory requests may name model files in; the workers
    (separate processes) inherit it as $ADVISOR_MODELS_DIR. None: no model files at all.

    The database is opened (migrated, seeded, checked) here once before uvicorn starts:
    a damaged or unreachable database is then one line and exit 2 from the CLI, not a
    traceback from every worker's startup."""
    import uvicorn

    from advisor.db.store import open_store
    from advisor.service.protocol import DeadlineH11Protocol
    from advisor.settings import ENV_MODELS_DIR, Settings, service_read_timeout_s

    if models_dir is not None:
        if not models_dir.is_dir():
            raise InputError(f"--models-dir {models_dir}: not a directory")
        os.environ[ENV_MODELS_DIR] = str(models_dir.resolve())
    else:
        os.environ.pop(ENV_MODELS_DIR, None)
    settings = Settings.from_env()
    service_read_timeout_s()  # a bad value is an InputError here, not in every connection
    open_store(settings.db_url).close()
    if not settings.api_token:
        print("advisor: ADVISOR_API_TOKEN is not set: platform writes will be refused (403)", file=sys.stderr)
    uvicorn.run(
        "advisor.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(),
        access_log=False,  # AccessLog middleware writes structured lines instead
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
        http=DeadlineH11Protocol,  # closes connections whose request does not arrive in time
    )
