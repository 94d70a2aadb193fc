/*
 * fault_vfs.c — the fault-injecting SQLite VFS of fault_vfs.h.  It owns the
 * wrapped files, their undo logs (the pre-images of writes not yet synced)
 * and the fault counters; it never changes what SQLite asked for except at
 * an injected fault.  Temporary files pass through uncounted: they do not
 * survive a crash, so faults there prove nothing about atomicity.
 */
#include "fault_vfs.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

typedef struct undo_rec {
    sqlite3_int64 off;
    int len;          /* bytes of data: the part of the write inside the old size */
    unsigned char *data;
} undo_rec;

typedef struct fv_file {
    sqlite3_file base;     /* must be first: SQLite sees this */
    sqlite3_file *real;    /* the wrapped file, allocated right after us */
    int tracked;           /* a main database or main journal */
    sqlite3_int64 synced_size; /* the size at the last sync; -1 when not dirty */
    undo_rec *undo;
    int nundo, capundo;
    struct fv_file *next;  /* open files, for the power cut */
} fv_file;

static sqlite3_vfs fv_vfs;
static sqlite3_vfs *fv_real;
static int fv_mode = FV_COUNT;
static long fv_n;
static long fv_writes;
static long fv_faults;
static int fv_dead; /* FV_POWER_CUT: the power is out */
static fv_file *fv_open_files;

static void undo_clear(fv_file *f)
{
    for (int i = 0; i < f->nundo; i++)
        free(f->undo[i].data);
    free(f->undo);
    f->undo = NULL;
    f->nundo = f->capundo = 0;
    f->synced_size = -1;
}

/* Records what [off, off+len) holds now, before a write changes it. */
static int undo_record(fv_file *f, sqlite3_int64 off, int len)
{
    sqlite3_int64 size = 0;
    int rc = f->real->pMethods->xFileSize(f->real, &size);
    if (rc != SQLITE_OK)
        return rc;
    if (f->synced_size < 0)
        f->synced_size = size;
    if (off >= size)
        return SQLITE_OK; /* growth only: the truncate back to synced_size undoes it */
    int keep = (int)(off + len <= size ? len : size - off);
    if (f->nundo == f->capundo) {
        int cap = f->capundo ? f->capundo * 2 : 16;
        undo_rec *g = realloc(f->undo, (size_t)cap * sizeof *g);
        if (!g)
            return SQLITE_NOMEM;
        f->undo = g;
        f->capundo = cap;
    }
    unsigned char *data = malloc((size_t)keep);
    if (!data)
        return SQLITE_NOMEM;
    rc = f->real->pMethods->xRead(f->real, data, keep, off);
    if (rc != SQLITE_OK) {
        free(data);
        return rc;
    }
    f->undo[f->nundo++] = (undo_rec){off, keep, data};
    return SQLITE_OK;
}

/* The power goes out: every open file loses what was written to it since
 * its last sync, newest first so that overlapping writes unwind in order. */
static void power_cut(void)
{
    fv_dead = 1;
    fv_faults++;
    for (fv_file *f = fv_open_files; f; f = f->next) {
        for (int i = f->nundo - 1; i >= 0; i--)
            f->real->pMethods->xWrite(f->real, f->undo[i].data, f->undo[i].len, f->undo[i].off);
        if (f->synced_size >= 0)
            f->real->pMethods->xTruncate(f->real, f->synced_size);
        undo_clear(f);
    }
}

/* ------------------------------------------------------------- files */

static int fv_close(sqlite3_file *pf)
{
    fv_file *f = (fv_file *)pf;
    for (fv_file **p = &fv_open_files; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    /* A file closed with unsynced writes keeps them: the model only loses
     * data at a power cut while the file is open (SQLite syncs before it
     * closes anything whose contents matter). */
    undo_clear(f);
    return f->real->pMethods->xClose(f->real);
}

static int fv_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 off)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xRead(f->real, buf, amt, off);
}

static int fv_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 off)
{
    fv_file *f = (fv_file *)pf;
    if (!f->tracked)
        return f->real->pMethods->xWrite(f->real, buf, amt, off);
    if (fv_dead)
        return SQLITE_IOERR_WRITE;
    fv_writes++;
    switch (fv_mode) {
    case FV_FAIL_EVERY:
        if (fv_n > 0 && fv_writes % fv_n == 0) {
            fv_faults++;
            return SQLITE_IOERR_WRITE;
        }
        break;
    case FV_POWER_CUT:
        if (fv_writes == fv_n) {
            power_cut();
            return SQLITE_IOERR_WRITE;
        }
        break;
    case FV_DISK_FULL:
        if (off + amt > fv_n) {
            fv_faults++;
            return SQLITE_FULL;
        }
        break;
    default:
        break;
    }
    if (fv_mode == FV_POWER_CUT) {
        int rc = undo_record(f, off, amt);
        if (rc != SQLITE_OK)
            return rc;
    }
    return f->real->pMethods->xWrite(f->real, buf, amt, off);
}

static int fv_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    fv_file *f = (fv_file *)pf;
    if (f->tracked && fv_dead)
        return SQLITE_IOERR_TRUNCATE;
    if (f->tracked && fv_mode == FV_DISK_FULL && size > fv_n) {
        fv_faults++;
        return SQLITE_FULL;
    }
    if (f->tracked && fv_mode == FV_POWER_CUT) {
        /* Shrinking loses bytes that a power cut before the next sync
         * would bring back: keep their pre-image. */
        sqlite3_int64 cur = 0;
        int rc = f->real->pMethods->xFileSize(f->real, &cur);
        if (rc != SQLITE_OK)
            return rc;
        if (size < cur)
            rc = undo_record(f, size, (int)(cur - size));
        else if (f->synced_size < 0)
            f->synced_size = cur;
        if (rc != SQLITE_OK)
            return rc;
    }
    return f->real->pMethods->xTruncate(f->real, size);
}

static int fv_sync(sqlite3_file *pf, int flags)
{
    fv_file *f = (fv_file *)pf;
    (void)flags;
    if (!f->tracked)
        return f->real->pMethods->xSync(f->real, flags);
    if (fv_dead)
        return SQLITE_IOERR_FSYNC;
    /* The model's disk is durable once synced: nothing to undo any more. */
    undo_clear(f);
    return SQLITE_OK;
}

static int fv_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xFileSize(f->real, size);
}

static int fv_lock(sqlite3_file *pf, int level)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xLock(f->real, level);
}

static int fv_unlock(sqlite3_file *pf, int level)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int fv_check_reserved(sqlite3_file *pf, int *out)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int fv_file_control(sqlite3_file *pf, int op, void *arg)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int fv_sector_size(sqlite3_file *pf)
{
    fv_file *f = (fv_file *)pf;
    return f->real->pMethods->xSectorSize(f->real);
}

static int fv_device_characteristics(sqlite3_file *pf)
{
    fv_file *f = (fv_file *)pf;
    /* Claim nothing (no atomic or sequential writes, no powersafe
     * overwrite): SQLite must then take every precaution itself. */
    (void)f;
    return 0;
}

/* Version 1 only: no shared memory (WAL) and no memory-mapped I/O, whose
 * writes would bypass xWrite and escape the fault model. */
static const sqlite3_io_methods fv_io = {
    1,
    fv_close,
    fv_read,
    fv_write,
    fv_truncate,
    fv_sync,
    fv_file_size,
    fv_lock,
    fv_unlock,
    fv_check_reserved,
    fv_file_control,
    fv_sector_size,
    fv_device_characteristics,
    NULL, NULL, NULL, NULL, NULL, NULL,
};

/* --------------------------------------------------------------- vfs */

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags,
                   int *out_flags)
{
    (void)vfs;
    fv_file *f = (fv_file *)pf;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    f->synced_size = -1;
    f->tracked = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
    if (f->tracked && fv_dead)
        return SQLITE_CANTOPEN; /* a dead machine opens nothing */
    int rc = fv_real->xOpen(fv_real, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        /* SQLite calls xClose only when pMethods is set. */
        if (f->real->pMethods)
            f->real->pMethods->xClose(f->real);
        pf->pMethods = NULL;
        return rc;
    }
    pf->pMethods = &fv_io;
    f->next = fv_open_files;
    fv_open_files = f;
    return SQLITE_OK;
}

static int fv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    if (fv_dead)
        return SQLITE_IOERR_DELETE;
    return fv_real->xDelete(fv_real, name, sync_dir);
}

static int fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return fv_real->xAccess(fv_real, name, flags, out);
}

static int fv_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return fv_real->xFullPathname(fv_real, name, n, out);
}

static void *fv_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return fv_real->xDlOpen(fv_real, name);
}

static void fv_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    fv_real->xDlError(fv_real, n, out);
}

static void (*fv_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return fv_real->xDlSym(fv_real, h, sym);
}

static void fv_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    fv_real->xDlClose(fv_real, h);
}

static int fv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return fv_real->xRandomness(fv_real, n, out);
}

static int fv_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return fv_real->xSleep(fv_real, us);
}

static int fv_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return fv_real->xCurrentTime(fv_real, out);
}

static int fv_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return fv_real->xGetLastError(fv_real, n, out);
}

static int fv_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return fv_real->xCurrentTimeInt64(fv_real, out);
}

int fault_vfs_register(void)
{
    if (fv_real)
        return 0;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real || real->iVersion < 2)
        return -1;
    fv_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(fv_file) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = FAULT_VFS_NAME,
        .xOpen = fv_open,
        .xDelete = fv_delete,
        .xAccess = fv_access,
        .xFullPathname = fv_full_pathname,
        .xDlOpen = fv_dlopen,
        .xDlError = fv_dlerror,
        .xDlSym = fv_dlsym,
        .xDlClose = fv_dlclose,
        .xRandomness = fv_randomness,
        .xSleep = fv_sleep,
        .xCurrentTime = fv_current_time,
        .xGetLastError = fv_last_error,
        .xCurrentTimeInt64 = fv_current_time64,
    };
    fv_real = real;
    if (sqlite3_vfs_register(&fv_vfs, 0) != SQLITE_OK) {
        fv_real = NULL;
        return -1;
    }
    return 0;
}

void fault_vfs_arm(int mode, long n)
{
    fv_mode = mode;
    fv_n = n;
    fv_writes = 0;
    fv_faults = 0;
    fv_dead = 0;
}

long fault_vfs_writes(void) { return fv_writes; }

long fault_vfs_faults(void) { return fv_faults; }
