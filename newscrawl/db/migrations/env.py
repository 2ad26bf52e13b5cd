"""Alembic environment: runs migrations on the connection newscrawl hands over."""

from alembic import context
from sqlalchemy import create_engine

from newscrawl.db.models import Base, include_object

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # Invoked from the alembic CLI: connect to the URL given in alembic.ini / -x.
        url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
            "sqlalchemy.url"
        )
        with create_engine(url).connect() as conn:
            _configure_and_run(conn)
            conn.commit()
        return
    _configure_and_run(connection)


def _configure_and_run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("newscrawl migrations run online only")
run_migrations()
