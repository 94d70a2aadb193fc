/*
 * config.c — retort.ini parsing and the precedence of configuration sources
 * (flags > environment > retort.ini > defaults).  Validation of the library
 * settings' values is left to retort_set(), so the command accepts exactly
 * what the library accepts; this file only prefixes its messages with the
 * file and line they came from.  Never prints the URL, nor any part of a
 * line it cannot read (a malformed line may be the URL, password and all):
 * its messages name the file, the line number, what is wrong, and at most
 * one of the keys it knows.
 */
#include "config.h"
#include "suggest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The library settings retort.ini may carry, passed to retort_set(). */
static const char *const setting_keys[] = {
    "version_table", "schema", "lock_timeout", "transaction_mode",
    "checksum_policy", "log_level", "tolerate_unknown", "allow_out_of_order", "fresh_mode",
    "template_key",
};
#define NSETTING_KEYS (sizeof setting_keys / sizeof setting_keys[0])

static int is_setting_key(const char *k)
{
    for (size_t i = 0; i < NSETTING_KEYS; i++)
        if (strcmp(k, setting_keys[i]) == 0)
            return 1;
    return 0;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *cli_path_relative_to(const char *base, const char *rel)
{
    const char *slash = base ? strrchr(base, '/') : NULL;
    if (rel[0] == '/' || !slash)
        return strdup(rel);
    size_t dl = (size_t)(slash - base) + 1;
    char *p = malloc(dl + strlen(rel) + 1);
    if (!p)
        return NULL;
    memcpy(p, base, dl);
    strcpy(p + dl, rel);
    return p;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Every key [retort] knows: the only text of a line ever shown. */
static const char *const known_keys[] = {
    "url", "dir", "template", "version_table", "schema", "lock_timeout", "transaction_mode",
    "checksum_policy", "log_level", "tolerate_unknown", "allow_out_of_order", "test_url",
    "fresh_mode", "template_key",
};
#define NKNOWN_KEYS (sizeof known_keys / sizeof known_keys[0])

/* The known key the n bytes at s spell, or NULL: a line is never shown,
 * not even a word of it, unless that word is one of ours (a password split
 * over two lines can look like any other word). */
static const char *known_key(const char *s, size_t n)
{
    for (size_t i = 0; i < NKNOWN_KEYS; i++)
        if (strlen(known_keys[i]) == n && memcmp(known_keys[i], s, n) == 0)
            return known_keys[i];
    return NULL;
}

/* The known key the line starts with, followed by something other than a
 * letter, digit or '_', or NULL. */
static const char *leading_key(const char *s)
{
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
           (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
        n++;
    return known_key(s, n);
}

/* The known key within two edits of key (a typo), or NULL. */
static const char *near_key(const char *key)
{
    size_t kl = strlen(key);
    if (kl > 40)
        return NULL;
    for (size_t i = 0; i < NKNOWN_KEYS; i++) {
        if (cli_edit_distance(key, kl, known_keys[i]) <= 2)
            return known_keys[i];
    }
    return NULL;
}

typedef struct ini_values {
    char *url, *dir, *template_path, *test_url;
    int url_line, dir_line, template_line, test_url_line;
} ini_values;

static int set_once(char **slot, int *slot_line, const char *value, int line, const char *path,
                    const char *key, char *err, size_t errlen)
{
    if (*slot) {
        snprintf(err, errlen, "%s:%d: '%s' is set twice (first on line %d)", path, line, key,
                 *slot_line);
        return 1;
    }
    if (!(*slot = strdup(value))) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return 1;
    }
    *slot_line = line;
    return 0;
}

/* Parses the [retort] section of path.  Other sections are left alone so the
 * file can be shared with other tools. */
static int parse_ini(cli_config *cfg, ini_values *iv, const char *path, char *err,
                     size_t errlen)
{
    /* A regular file only: a FIFO would block the open, /dev/zero would
     * be one endless line. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "configuration file '%s' is not a regular file", path);
        return 1;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot read configuration file '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    char *linebuf = NULL;
    size_t cap = 0;
    int lineno = 0, in_retort = 0, in_section = 0, rc = 0;
    while (!rc && getline(&linebuf, &cap, f) != -1) {
        lineno++;
        char *s = linebuf;
        /* A UTF-8 byte order mark, as some Windows editors write. */
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        s = trim(s);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0') {
                snprintf(err, errlen, "%s:%d: malformed section header: expected [name] alone "
                                      "on its line%s", path, lineno,
                         close ? " (text follows the ']')" : " (no closing ']')");
                rc = 1;
                break;
            }
            *close = '\0';
            in_section = 1;
            in_retort = strcmp(trim(s + 1), "retort") == 0;
            continue;
        }
        if (!in_section) {
            const char *k = leading_key(s);
            if (k)
                snprintf(err, errlen, "%s:%d: '%s' is outside any section (settings go "
                                      "under a [retort] header)", path, lineno, k);
            else
                snprintf(err, errlen, "%s:%d: a line outside any section (settings go under "
                                      "a [retort] header)", path, lineno);
            rc = 1;
            break;
        }
        if (!in_retort)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            const char *k = leading_key(s);
            if (k)
                snprintf(err, errlen, "%s:%d: expected '%s = value': no '=' after '%s'", path,
                         lineno, k, k);
            else
                snprintf(err, errlen, "%s:%d: expected 'key = value' (the line is not shown: "
                                      "it may hold a password)", path, lineno);
            rc = 1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (strcmp(key, "url") == 0) {
            rc = set_once(&iv->url, &iv->url_line, value, lineno, path, key, err, errlen);
        } else if (strcmp(key, "test_url") == 0) {
            rc = set_once(&iv->test_url, &iv->test_url_line, value, lineno, path, key, err,
                          errlen);
        } else if (strcmp(key, "dir") == 0 || strcmp(key, "template") == 0) {
            int isdir = key[0] == 'd';
            if (!*value) {
                snprintf(err, errlen, "%s:%d: '%s' is empty", path, lineno, key);
                rc = 1;
            } else {
                rc = set_once(isdir ? &iv->dir : &iv->template_path,
                              isdir ? &iv->dir_line : &iv->template_line, value, lineno, path,
                              key, err, errlen);
            }
        } else if (is_setting_key(key)) {
            for (int i = 0; i < cfg->nsettings; i++) {
                if (strcmp(cfg->settings[i].key, key) == 0) {
                    snprintf(err, errlen, "%s:%d: '%s' is set twice (first on line %d)", path,
                             lineno, key, cfg->settings[i].line);
                    rc = 1;
                }
            }
            if (rc)
                break;
            cli_setting *g = realloc(cfg->settings, (size_t)(cfg->nsettings + 1) * sizeof *g);
            if (!g) {
                snprintf(err, errlen, "out of memory reading %s", path);
                rc = 1;
                break;
            }
            cfg->settings = g;
            cli_setting *st = &cfg->settings[cfg->nsettings];
            st->key = strdup(key);
            st->value = strdup(value);
            st->line = lineno;
            cfg->nsettings++;
            if (!st->key || !st->value) {
                snprintf(err, errlen, "out of memory reading %s", path);
                rc = 1;
            }
            if (strcmp(key, "log_level") == 0)
                cfg->log_level_set = 1;
        } else {
            /* Not shown: it may be a line that lost its '=' to a value
             * (url: postgresql://...?sslmode=...), or a piece of a password
             * split over two lines.  A known key it is a typo of is. */
            const char *near = near_key(key);
            snprintf(err, errlen, "%s:%d: unknown key in [retort]%s%s%s (known: url, dir, "
                                  "template, version_table, schema, lock_timeout, "
                                  "transaction_mode, checksum_policy, log_level, "
                                  "tolerate_unknown, allow_out_of_order, test_url, "
                                  "fresh_mode, template_key)",
                     path, lineno, near ? "; did you mean '" : "", near ? near : "",
                     near ? "'?" : "");
            rc = 1;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "cannot read configuration file '%s': read error", path);
        rc = 1;
    }
    free(linebuf);
    fclose(f);
    return rc;
}

void cli_config_free(cli_config *cfg)
{
    free(cfg->config_path);
    free(cfg->url);
    for (int i = 0; i < cfg->ndirs; i++)
        free(cfg->dirs[i]);
    free(cfg->dirs);
    free(cfg->template_path);
    free(cfg->test_url);
    for (int i = 0; i < cfg->nsettings; i++) {
        free(cfg->settings[i].key);
        free(cfg->settings[i].value);
    }
    free(cfg->settings);
    memset(cfg, 0, sizeof *cfg);
}

/* Appends the directory dir[0..len) to cfg->dirs, relative to the ini file
 * base when base is not NULL.  Returns nonzero with err set on failure. */
static int add_dir(cli_config *cfg, const char *dir, size_t len, const char *base, int listed,
                   char *err, size_t errlen)
{
    if (!len) {
        snprintf(err, errlen, "the migrations directory (%s) is empty%s", cfg->dir_source,
                 listed ? " (an empty entry in its list of directories separated by ':')" : "");
        return 1;
    }
    char **nd = realloc(cfg->dirs, (size_t)(cfg->ndirs + 1) * sizeof *nd);
    char *one = strndup(dir, len);
    char *path = one && base ? cli_path_relative_to(base, one) : one;
    if (nd)
        cfg->dirs = nd;
    if (!nd || !path) {
        if (path != one)
            free(path);
        free(one);
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    if (path != one)
        free(one);
    cfg->dirs[cfg->ndirs++] = path;
    return 0;
}

/* Appends each directory of a CLI_DIR_SEPARATOR-separated list. */
static int add_dir_list(cli_config *cfg, const char *list, const char *base, char *err,
                        size_t errlen)
{
    for (const char *p = list;;) {
        const char *sep = strchr(p, CLI_DIR_SEPARATOR);
        size_t len = sep ? (size_t)(sep - p) : strlen(p);
        if (add_dir(cfg, p, len, base, strchr(list, CLI_DIR_SEPARATOR) != NULL, err, errlen))
            return 1;
        if (!sep)
            return 0;
        p = sep + 1;
    }
}

int cli_config_resolve(cli_config *cfg, const cli_flags *flags, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    ini_values iv = {0};
    int rc = 0;

    /* Which ini file: a named one must exist; the default is optional. */
    const char *cpath = flags->config;
    cfg->config_source = "--config";
    if (!cpath && (cpath = env_nonempty("RETORT_CONFIG")))
        cfg->config_source = "RETORT_CONFIG";
    if (cpath) {
        cfg->config_explicit = 1;
    } else {
        cpath = CLI_DEFAULT_CONFIG;
        cfg->config_source = "default";
    }
    if (!(cfg->config_path = strdup(cpath))) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    /* A named file that does not exist is an error for every command but
     * init (which creates it): main.c decides, from config_exists. */
    if ((cfg->config_exists = file_exists(cpath)))
        rc = parse_ini(cfg, &iv, cpath, err, errlen);

    /* url: --url > RETORT_DATABASE_URL > ini > library default */
    const char *url = NULL;
    if (!rc) {
        if ((url = flags->url) != NULL)
            cfg->url_source = "--url";
        else if ((url = env_nonempty("RETORT_DATABASE_URL")) != NULL)
            cfg->url_source = "RETORT_DATABASE_URL";
        else if (iv.url && *iv.url)
            url = iv.url, cfg->url_source = "retort.ini";
        else
            cfg->url_source = "default";
        if (url && !(cfg->url = strdup(url))) {
            snprintf(err, errlen, "out of memory");
            rc = 1;
        }
    }

    /* dir: --dir (repeatable) > RETORT_DIR > ini (relative to the ini file)
     * > default; the last two are lists separated by CLI_DIR_SEPARATOR. */
    if (!rc) {
        const char *list;
        if (flags->ndirs) {
            cfg->dir_source = "--dir";
            for (int k = 0; k < flags->ndirs && !rc; k++)
                rc = add_dir(cfg, flags->dirs[k], strlen(flags->dirs[k]), NULL, 0, err, errlen);
        } else if ((list = env_nonempty("RETORT_DIR")) != NULL) {
            cfg->dir_source = "RETORT_DIR";
            rc = add_dir_list(cfg, list, NULL, err, errlen);
        } else if (iv.dir) {
            cfg->dir_source = "retort.ini";
            rc = add_dir_list(cfg, iv.dir, cfg->config_path, err, errlen);
        } else {
            cfg->dir_source = "default";
            rc = add_dir(cfg, CLI_DEFAULT_DIR, strlen(CLI_DEFAULT_DIR), NULL, 0, err, errlen);
        }
        if (!rc)
            cfg->dir = cfg->dirs[0];
    }
    if (!rc && iv.template_path) {
        cfg->template_line = iv.template_line;
        if (!(cfg->template_path = cli_path_relative_to(cfg->config_path, iv.template_path))) {
            snprintf(err, errlen, "out of memory");
            rc = 1;
        }
    }
    if (!rc) {
        if (flags->quiet)
            cfg->verbosity = -1;
        else if (flags->verbose)
            cfg->verbosity = flags->verbose > 1 ? 2 : 1;
    }
    if (!rc && iv.test_url && *iv.test_url && !(cfg->test_url = strdup(iv.test_url))) {
        snprintf(err, errlen, "out of memory");
        rc = 1;
    }
    free(iv.url);
    free(iv.test_url);
    free(iv.dir);
    free(iv.template_path);
    if (rc)
        cli_config_free(cfg);
    return rc;
}

int cli_config_apply(const cli_config *cfg, retort *r, int fresh, char *err, size_t errlen)
{
    for (int i = 0; i < cfg->nsettings; i++) {
        const cli_setting *s = &cfg->settings[i];
        if (fresh && strcmp(s->key, "schema") == 0)
            continue;
        /* Settings of fresh test targets only. */
        if (!fresh && (strcmp(s->key, "fresh_mode") == 0 || strcmp(s->key, "template_key") == 0))
            continue;
        int rc = retort_set(r, s->key, s->value);
        if (rc != RETORT_OK) {
            snprintf(err, errlen, "%s:%d: %s", cfg->config_path, s->line, retort_errmsg(r));
            return rc;
        }
    }
    /* Every setting: RETORT_<NAME> > retort.ini, then --set NAME=VALUE > all. */
    for (size_t i = 0; i < NSETTING_KEYS; i++) {
        char env[64] = "RETORT_";
        size_t k = strlen(env);
        for (const char *p = setting_keys[i]; *p && k + 1 < sizeof env; p++)
            env[k++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        env[k] = '\0';
        const char *v = env_nonempty(env);
        if (!v || strcmp(setting_keys[i], "allow_out_of_order") == 0 ||
            (fresh && strcmp(setting_keys[i], "schema") == 0))
            continue;
        int rc = retort_set(r, setting_keys[i], v);
        if (rc != RETORT_OK) {
            snprintf(err, errlen, "%s: %s", env, retort_errmsg(r));
            return rc;
        }
    }
    for (int i = 0; i < cfg->nset_args; i++) {
        const char *a = cfg->set_args[i], *eq = strchr(a, '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : 0, a);
        if (!eq || !*name) {
            snprintf(err, errlen, "--set '%.100s': expected NAME=VALUE", a);
            return RETORT_EINVAL;
        }
        if (fresh && strcmp(name, "schema") == 0)
            continue;
        int rc = retort_set(r, name, eq + 1);
        if (rc != RETORT_OK) {
            snprintf(err, errlen, "--set %.100s: %s", a, retort_errmsg(r));
            return rc;
        }
    }
    /* allow_out_of_order: --allow-out-of-order > environment > retort.ini */
    const char *ooo = env_nonempty("RETORT_ALLOW_OUT_OF_ORDER");
    if (cfg->allow_out_of_order)
        ooo = "1";
    if (ooo) {
        int rc = retort_set(r, "allow_out_of_order", ooo);
        if (rc != RETORT_OK) {
            snprintf(err, errlen, "RETORT_ALLOW_OUT_OF_ORDER: %s", retort_errmsg(r));
            return rc;
        }
    }
    /* -q / -v outrank the file's log_level. */
    int level = 0;
    if (cfg->verbosity < 0)
        level = RETORT_LOG_ERROR;
    else if (cfg->verbosity == 1)
        level = RETORT_LOG_INFO;
    else if (cfg->verbosity > 1)
        level = RETORT_LOG_DEBUG;
    if (level) {
        int rc = retort_set_log_level(r, level);
        if (rc != RETORT_OK) {
            snprintf(err, errlen, "%s", retort_errmsg(r));
            return rc;
        }
    }
    return RETORT_OK;
}
