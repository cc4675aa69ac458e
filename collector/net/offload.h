/* SPDX-License-Identifier: MIT */
/* offload.h: a few threads that run CPU-heavy steps for the loop, so one
 * slow step never stalls every other connection. The collector uses it for
 * TLS handshakes: mbedTLS 2.28 spends about 6.5 ms of CPU on a full
 * ECDHE-ECDSA handshake here (key generation, shared secret, signature),
 * so a thousand clients connecting at once would otherwise freeze the loop
 * for seconds. A job's run() executes on a pool thread; its done() runs on
 * the loop thread after offload_complete(), like the database pool's. */
#ifndef PF_OFFLOAD_H
#define PF_OFFLOAD_H

#include "error.h"

struct offload;

struct offload_job {
    void (*run)(struct offload_job *j);  /* pool thread */
    void (*done)(struct offload_job *j); /* loop thread */
    struct offload_job *next;            /* private */
};

/* Starts nthreads (>= 1) threads. PF_OK and *out, or an error. */
enum pf_rc offload_new(int nthreads, struct offload **out);
/* Runs the queue dry, joins the threads, calls every pending done(),
 * frees the pool. NULL does nothing. */
void offload_free(struct offload *o);
/* Queues j (never fails: the queue is a list through the jobs). */
void offload_submit(struct offload *o, struct offload_job *j);
/* The eventfd that becomes readable when jobs are done. */
int offload_event_fd(const struct offload *o);
/* Loop thread: calls done() of every finished job. */
void offload_complete(struct offload *o);

#endif
