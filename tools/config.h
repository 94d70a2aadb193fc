/*
 * config.h — the command's configuration: retort.ini, the environment and the
 * global flags, merged by precedence (flags > environment > retort.ini >
 * defaults).  Knows nothing about commands; main.c fills the flags, the
 * commands read the result.
 */
#ifndef RETORT_TOOL_CONFIG_H
#define RETORT_TOOL_CONFIG_H

#include <stddef.h>

#include <retort/retort.h>

#define CLI_DEFAULT_DIR "migrations"
#define CLI_DEFAULT_CONFIG "retort.ini"
/* Separates the directories of RETORT_DIR and retort.ini's dir (as PATH,
 * and as Alembic's default version_path_separator). */
#define CLI_DIR_SEPARATOR ':'

/* A library setting read from retort.ini, applied with retort_set(). */
typedef struct cli_setting {
    char *key;
    char *value;
    int line;
} cli_setting;

/* What the flags say; NULL / 0 when not given. */
typedef struct cli_flags {
    const char *url;
    const char *dir;         /* the first --dir */
    const char *const *dirs; /* every --dir, in order (--dir may be repeated) */
    int ndirs;
    const char *config;
    int verbose; /* count of -v */
    int quiet;   /* count of -q */
} cli_flags;

typedef struct cli_config {
    /* the ini file: named by a flag or RETORT_CONFIG (config_explicit), or
     * the default ./retort.ini; config_exists says whether it was read */
    char *config_path;
    int config_explicit;
    int config_exists;
    const char *config_source; /* "--config", "RETORT_CONFIG" or "default" */

    char *url;              /* NULL: let the library choose (sqlite:retort.db) */
    const char *url_source; /* "--url", "RETORT_DATABASE_URL", "retort.ini", "default" */
    char *dir;              /* never NULL after cli_config_resolve: dirs[0], where new
                               revisions go */
    char **dirs;            /* every migrations directory, in order: one registry */
    int ndirs;              /* >= 1 after cli_config_resolve */
    const char *dir_source;
    char *template_path;    /* retort.ini "template", resolved; NULL if unset */
    char *test_url;         /* retort.ini "test_url"; NULL if unset */
    int template_line;

    cli_setting *settings;  /* version_table, schema, lock_timeout, ... */
    int nsettings;
    int log_level_set;      /* retort.ini has log_level */

    int verbosity;          /* -1 quiet, 0 normal, 1 -v, 2 -vv */
    int allow_out_of_order; /* --allow-out-of-order given (main.c sets it) */
    const char *const *set_args; /* --set NAME=VALUE, as given (main.c sets them) */
    int nset_args;
} cli_config;

/*
 * Resolves the configuration: which ini file (--config, RETORT_CONFIG, or
 * ./retort.ini), parses it if it exists, then applies the precedence.  On
 * failure writes a message (naming file:line) into err and returns nonzero;
 * *cfg is then freed.  Whether a named but missing file is an error is the
 * caller's decision (init creates it).
 */
int cli_config_resolve(cli_config *cfg, const cli_flags *flags, char *err, size_t errlen);

/* Applies the settings and the log level to a context; on failure returns
 * the library's status with the message (prefixed by file:line) in err.
 * fresh: the context is a fresh test target, which owns its schema, so a
 * configured schema is not applied to it. */
int cli_config_apply(const cli_config *cfg, retort *r, int fresh, char *err, size_t errlen);

void cli_config_free(cli_config *cfg);

/* Joins base's directory and rel ("a/b.ini", "x" -> "a/x"); rel absolute or
 * base without a directory: a copy of rel.  malloc'd, NULL on ENOMEM. */
char *cli_path_relative_to(const char *base, const char *rel);

#endif
