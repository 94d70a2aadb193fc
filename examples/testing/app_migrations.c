/*
 * app_migrations.c — a small notes application's migrations, in SQL that
 * SQLite and PostgreSQL both accept.  Each revision has a downgrade that
 * undoes exactly what its upgrade did: the stairway check in
 * test_app_migrations.c holds them to it.
 */
#include "app_migrations.h"

struct migration {
    const char *id, *parents, *message, *up, *down;
};

static const struct migration migrations[] = {
    {"20240101_users", NULL, "users",
     "CREATE TABLE users (\n"
     "    id INTEGER PRIMARY KEY,\n"
     "    email TEXT NOT NULL UNIQUE,\n"
     "    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
     ")",
     "DROP TABLE users"},
    {"20240102_notes", "20240101_users", "notes, with an index per author",
     "CREATE TABLE notes (\n"
     "    id INTEGER PRIMARY KEY,\n"
     "    author INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
     "    body TEXT NOT NULL CHECK (length(body) > 0)\n"
     ");\n"
     "CREATE INDEX notes_author_idx ON notes (author)",
     /* Dropping the table drops its index too; naming it keeps the
      * downgrade an exact mirror of the upgrade. */
     "DROP INDEX notes_author_idx;\n"
     "DROP TABLE notes"},
    {"20240103_archive", "20240102_notes", "notes can be archived",
     "ALTER TABLE notes ADD COLUMN archived INTEGER NOT NULL DEFAULT 0",
     "ALTER TABLE notes DROP COLUMN archived"},
    {"20240104_active_notes", "20240103_archive", "a view of the notes not archived",
     "CREATE VIEW active_notes AS SELECT id, author, body FROM notes WHERE archived = 0",
     "DROP VIEW active_notes"},
};

int app_register_migrations(retort *r)
{
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        const struct migration *m = &migrations[i];
        int rc = retort_add_sql(r, m->id, m->parents, m->message, m->up, m->down);
        if (rc != RETORT_OK)
            return rc;
    }
    return RETORT_OK;
}
