/* SPDX-License-Identifier: MIT */
/* loop.h: the collector's event loop, a thin layer over Linux epoll.
 *
 * Why epoll and not libuv: mbedTLS wants to read and write the socket
 * itself through its BIO callbacks. With readiness events (epoll) the
 * callbacks call recv()/send() on the non-blocking fd directly; libuv's
 * completion-style streams would hand us bytes we then have to queue for
 * mbedTLS, one more copy and one more buffer per connection. The collector
 * is Linux-only, so the portability libuv buys is not needed. Level-
 * triggered, one thread; timeouts are the caller's (it passes how long to
 * wait), cross-thread wake-ups are an eventfd the caller registers. */
#ifndef PF_LOOP_H
#define PF_LOOP_H

#include <stdint.h>

#include "error.h"

#define LOOP_READ 1u
#define LOOP_WRITE 2u

struct loop;

/* Called with LOOP_READ and/or LOOP_WRITE set (an error or hang-up is
 * reported as both, so the owner's next read or write sees it). */
typedef void (*loop_fn)(void *ud, unsigned events);

/* A registration. The owner keeps it alive while registered. */
struct loop_watch {
    int fd;
    unsigned events; /* LOOP_READ | LOOP_WRITE currently asked for */
    loop_fn fn;
    void *ud;
};

/* Returns a new loop in *out, or PF_IO (errno tells) with *out NULL. */
enum pf_rc loop_new(struct loop **out);
/* Closes the epoll fd; registered fds are left to their owners. NULL ok. */
void loop_free(struct loop *l);

/* Registers w->fd for events (may be 0: registered but quiet). */
enum pf_rc loop_add(struct loop *l, struct loop_watch *w, unsigned events);
/* Changes what w waits for; does nothing when unchanged. */
enum pf_rc loop_set(struct loop *l, struct loop_watch *w, unsigned events);
/* Unregisters w (before its fd is closed). */
void loop_del(struct loop *l, struct loop_watch *w);

/* Waits up to timeout_ms (-1: forever) and calls the callbacks of the
 * ready watches. A callback may loop_del() any watch, but must not free
 * one that may still be reported in this round: owners free closed
 * objects after loop_wait() returns. Returns the number of events handled,
 * or -1 on an epoll error other than EINTR. */
int loop_wait(struct loop *l, int timeout_ms);

#endif
