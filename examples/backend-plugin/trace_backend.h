/*
 * trace_backend.h — a third-party retort driver that wraps another one and
 * reports every statement it runs.  Built outside the library, against the
 * public headers only (<retort/backend.h>), to show that the vtable is all a
 * driver needs.
 */
#ifndef TRACE_BACKEND_H
#define TRACE_BACKEND_H

/* Receives one traced event: what ("exec", "exec_params", "query", "begin",
 * "commit", "rollback", "lock", "unlock", "table_exists", "connect",
 * "disconnect") and the
 * statement or URL it concerns ("" when there is none); both valid only
 * during the call.  user is the pointer given to trace_backend_register. */
typedef void (*trace_sink)(const char *event, const char *text, void *user);

/*
 * Registers the "trace" driver: URLs "trace:REST" are served by the driver
 * registered for the scheme inner_scheme (e.g. "sqlite"), which receives
 * "INNER_SCHEME:REST", and every call is reported to sink first.  Call once,
 * before creating contexts; sink and user must stay valid for the life of the
 * process (retort keeps the driver until then).  Returns RETORT_OK, or
 * RETORT_ENOTFOUND when no driver serves inner_scheme, or what
 * retort_register_backend returns (RETORT_EBACKEND when "trace" is taken).
 */
int trace_backend_register(const char *inner_scheme, trace_sink sink, void *user);

#endif
