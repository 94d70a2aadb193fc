"""Migrates a database to head with the retort Python package.

    pip install --no-build-isolation bindings/python     # once
    python3 examples/python/migrate.py sqlite:app.db

The first argument is the database URL (default: $RETORT_DATABASE_URL, else
sqlite:retort.db).  One revision is SQL, one is Python; running the script
again changes nothing.
"""

import logging
import sys

import retort


def seed_up(conn: retort.Conn) -> None:
    conn.execute("INSERT INTO plans (name, monthly_usd) VALUES ($1, $2)", ["free", 0])


def seed_down(conn: retort.Conn) -> None:
    conn.execute("DELETE FROM plans")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    url = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        with retort.Retort(url) as r:
            r.add_sql("0001_plans", None, "create plans",
                      "CREATE TABLE plans (name TEXT PRIMARY KEY, monthly_usd INTEGER)",
                      "DROP TABLE plans")
            r.add("0002_seed", "0001_plans", "seed plans", up=seed_up, down=seed_down)
            r.migrate_to_head()
            print("at", " ".join(r.current()))
    except retort.Error as e:
        print("migrate.py: %s (%s)" % (e, e.name), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
