/*
 * explore_driver.h — the schedule explorer's wrapping driver and the child
 * side of its coordinator protocol.
 *
 * The driver ("explore+sqlite", "explore+postgresql") is registered through
 * the public vtable and wraps the built-in driver found with
 * retort_backend_find().  At every point where the order of events matters
 * it tells the coordinator (the parent process) where it is and waits until
 * told to go on.  Where it would wait inside the database (SQLite's busy
 * handler, PostgreSQL's advisory lock) it says "blocked" instead and retries
 * only when the coordinator lets it, so that a whole schedule runs in lock
 * step and replays from its seed.
 */
#ifndef RETORT_TESTS_EXPLORE_DRIVER_H
#define RETORT_TESTS_EXPLORE_DRIVER_H

enum {
    XP_MSG_POINT = 1,   /* paused at a point; waits for a go byte */
    XP_MSG_BLOCKED = 2, /* would wait in the database; waits for a retry byte */
    XP_MSG_DONE = 3     /* the operation returned: code in arg, message in text */
};

/* Fixed size, below PIPE_BUF: each write to the pipe is atomic. */
typedef struct {
    int kind;
    int arg;
    int arg2;
    char text[1000];
} xp_msg;

/* Registers the wrapper of the built-in driver for scheme ("sqlite" or
 * "postgresql") as "explore+SCHEME".  Returns 0, or -1 when that driver is
 * not built in. */
int xp_driver_register(const char *scheme);

/* Connects this process to the coordinator: messages go to out_fd, go bytes
 * come from in_fd.  Before this (or with -1) every point is a no-op. */
void xp_client_attach(int out_fd, int in_fd);

/* Reports a point (label: what the process is about to do or just did) and
 * waits for the go.  Exits the process if the coordinator has gone. */
void xp_point(const char *label);

/* Reports the operation's result: its return value, retort_errcode() and
 * retort_errmsg() after it. */
void xp_done(int code, int errcode, const char *message);

#endif
