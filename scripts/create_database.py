"""Create the PostgreSQL database named in DATABASE_URL if it does not exist yet."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from nocturne.settings import settings


def main() -> None:
    url = make_url(settings.database_url)
    if not url.drivername.startswith("postgresql"):
        return
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
            print(f"created database {url.database}")


if __name__ == "__main__":
    main()
