/*
 * snapshot.h — the canonical schema snapshot, for the public call and for
 * the test harness's checks, which compare many snapshots and must not
 * disturb the string the context last returned to its caller.
 */
#ifndef RT_SNAPSHOT_H
#define RT_SNAPSHOT_H

#include "buf.h"

typedef struct retort retort;

/*
 * Writes the snapshot of r's database into out (emptied first): the
 * driver's lines for every object except the version table and its audit
 * log, sorted bytewise, joined with '\n', no trailing newline; "" for an
 * empty schema.  Connects if needed.  On failure records the error on r and
 * returns its code; out is then unspecified.
 */
int rt_schema_snapshot(retort *r, rt_buf *out);

#endif
