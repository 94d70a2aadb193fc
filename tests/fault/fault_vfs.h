/*
 * fault_vfs.h — a test-only SQLite VFS ("retort_fault") that wraps the
 * default one and injects storage faults into the writes of main database
 * and rollback-journal files, which retort selects with the URL
 * "sqlite:file:PATH?vfs=retort_fault" (its driver opens with SQLITE_OPEN_URI).
 *
 * Modes (fault_vfs_arm):
 *   FV_COUNT       pass everything through, counting writes
 *   FV_FAIL_EVERY  every Nth write fails with SQLITE_IOERR_WRITE and writes
 *                  nothing; the process goes on and SQLite recovers itself
 *   FV_POWER_CUT   at the Nth write the power goes out: every write made
 *                  since its file's last xSync is undone (what a volatile
 *                  disk cache loses), and from then on every write, truncate,
 *                  sync and delete fails and changes nothing, as if the
 *                  process had died at that instant
 *   FV_DISK_FULL   a write or truncate that would grow a file past N bytes
 *                  fails with SQLITE_FULL, like a full file system
 *
 * xSync itself does not reach the disk: durability is what the undo log
 * models, and skipping fsync keeps hundreds of trials fast.  Not thread-safe:
 * one test process, one connection at a time.
 */
#ifndef RETORT_TEST_FAULT_VFS_H
#define RETORT_TEST_FAULT_VFS_H

#define FAULT_VFS_NAME "retort_fault"

enum { FV_COUNT, FV_FAIL_EVERY, FV_POWER_CUT, FV_DISK_FULL };

/* Registers the VFS (not as the default); returns 0 or -1. Idempotent. */
int fault_vfs_register(void);
/* Sets the mode and its N, and resets the counters. */
void fault_vfs_arm(int mode, long n);
/* Writes seen since the last fault_vfs_arm (failed ones included). */
long fault_vfs_writes(void);
/* Faults injected since the last fault_vfs_arm (for FV_POWER_CUT: 1 once the
 * power went out). */
long fault_vfs_faults(void);

#endif
