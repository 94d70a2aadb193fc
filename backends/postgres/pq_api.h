/*
 * pq_api.h — libpq, loaded the first time a PostgreSQL URL is opened.
 *
 * The library does not link libpq: an application that only ever opens
 * SQLite databases should not load it and what it pulls in (Kerberos, LDAP,
 * GnuTLS: some twenty shared objects and about 4 ms at every process start).
 * postgres_backend.c includes this header after <libpq-fe.h>, whose types
 * and prototypes it still compiles against; the macros below send its calls
 * through the table that rt_pq_load fills from dlopen.
 */
#ifndef RT_PQ_API_H
#define RT_PQ_API_H

#include <stddef.h>

#include <libpq-fe.h>

/* Every libpq function the driver calls; the pipeline ones are optional
 * (libpq 14 and later), the driver checks them before use. */
#define RT_PQ_REQUIRED(X) \
    X(PQclear) \
    X(PQclientEncoding) \
    X(PQcmdStatus) \
    X(PQconnectdbParams) \
    X(PQconninfoFree) \
    X(PQconninfoParse) \
    X(PQdb) \
    X(PQerrorMessage) \
    X(PQexec) \
    X(PQexecParams) \
    X(PQfinish) \
    X(PQfreemem) \
    X(PQgetCopyData) \
    X(PQgetResult) \
    X(PQgetisnull) \
    X(PQgetvalue) \
    X(PQhost) \
    X(PQnfields) \
    X(PQntuples) \
    X(PQport) \
    X(PQputCopyEnd) \
    X(PQresultErrorField) \
    X(PQresultErrorMessage) \
    X(PQresultStatus) \
    X(PQsendQueryParams) \
    X(PQserverVersion) \
    X(PQsetNoticeProcessor) \
    X(PQstatus) \
    X(PQtransactionStatus) \
    X(PQuser) \
    X(pg_encoding_to_char)

#ifdef LIBPQ_HAS_PIPELINING
#define RT_PQ_OPTIONAL(X) \
    X(PQenterPipelineMode) \
    X(PQexitPipelineMode) \
    X(PQpipelineSync)
#else
#define RT_PQ_OPTIONAL(X)
#endif

typedef struct rt_pq_api {
#define RT_PQ_MEMBER(name) __typeof__(name) *name;
    RT_PQ_REQUIRED(RT_PQ_MEMBER)
    RT_PQ_OPTIONAL(RT_PQ_MEMBER)
#undef RT_PQ_MEMBER
} rt_pq_api;

/* Filled once by rt_pq_load; read-only afterwards. */
extern rt_pq_api rt_pq;

/*
 * Loads libpq the first time (thread-safe, once per process; it is never
 * unloaded).  Returns 1 when every required function is there, else 0 with
 * *why pointing at a static message naming the library and dlerror()'s
 * reason.
 */
int rt_pq_load(const char **why);

#ifndef RT_PQ_API_IMPLEMENTATION
#define PQclear (rt_pq.PQclear)
#define PQclientEncoding (rt_pq.PQclientEncoding)
#define PQcmdStatus (rt_pq.PQcmdStatus)
#define PQconnectdbParams (rt_pq.PQconnectdbParams)
#define PQconninfoFree (rt_pq.PQconninfoFree)
#define PQconninfoParse (rt_pq.PQconninfoParse)
#define PQdb (rt_pq.PQdb)
#define PQerrorMessage (rt_pq.PQerrorMessage)
#define PQexec (rt_pq.PQexec)
#define PQexecParams (rt_pq.PQexecParams)
#define PQfinish (rt_pq.PQfinish)
#define PQfreemem (rt_pq.PQfreemem)
#define PQgetCopyData (rt_pq.PQgetCopyData)
#define PQgetResult (rt_pq.PQgetResult)
#define PQgetisnull (rt_pq.PQgetisnull)
#define PQgetvalue (rt_pq.PQgetvalue)
#define PQhost (rt_pq.PQhost)
#define PQnfields (rt_pq.PQnfields)
#define PQntuples (rt_pq.PQntuples)
#define PQport (rt_pq.PQport)
#define PQputCopyEnd (rt_pq.PQputCopyEnd)
#define PQresultErrorField (rt_pq.PQresultErrorField)
#define PQresultErrorMessage (rt_pq.PQresultErrorMessage)
#define PQresultStatus (rt_pq.PQresultStatus)
#define PQsendQueryParams (rt_pq.PQsendQueryParams)
#define PQserverVersion (rt_pq.PQserverVersion)
#define PQsetNoticeProcessor (rt_pq.PQsetNoticeProcessor)
#define PQstatus (rt_pq.PQstatus)
#define PQtransactionStatus (rt_pq.PQtransactionStatus)
#define PQuser (rt_pq.PQuser)
#define pg_encoding_to_char (rt_pq.pg_encoding_to_char)
#ifdef LIBPQ_HAS_PIPELINING
#define PQenterPipelineMode (rt_pq.PQenterPipelineMode)
#define PQexitPipelineMode (rt_pq.PQexitPipelineMode)
#define PQpipelineSync (rt_pq.PQpipelineSync)
#endif
#endif

#endif
