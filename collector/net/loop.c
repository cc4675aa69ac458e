/* SPDX-License-Identifier: MIT */
/* loop.c: epoll, level-triggered. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_BATCH 256

struct loop {
    int epfd;
    struct epoll_event ev[LOOP_BATCH];
};

enum pf_rc loop_new(struct loop **out)
{
    struct loop *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (!l)
        return PF_NOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return PF_IO;
    }
    *out = l;
    return PF_OK;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    free(l);
}

static uint32_t to_epoll(unsigned events)
{
    return ((events & LOOP_READ) ? EPOLLIN : 0u) | ((events & LOOP_WRITE) ? EPOLLOUT : 0u);
}

enum pf_rc loop_add(struct loop *l, struct loop_watch *w, unsigned events)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};

    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) != 0)
        return PF_IO;
    w->events = events;
    return PF_OK;
}

enum pf_rc loop_set(struct loop *l, struct loop_watch *w, unsigned events)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};

    if (events == w->events)
        return PF_OK;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0)
        return PF_IO;
    w->events = events;
    return PF_OK;
}

void loop_del(struct loop *l, struct loop_watch *w)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->events = 0;
    w->fn = NULL;
}

int loop_wait(struct loop *l, int timeout_ms)
{
    int n = epoll_wait(l->epfd, l->ev, LOOP_BATCH, timeout_ms);

    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        struct loop_watch *w = l->ev[i].data.ptr;
        uint32_t e = l->ev[i].events;
        unsigned what = 0;
        if (!w->fn)
            continue; /* deleted earlier in this round */
        if (e & (EPOLLERR | EPOLLHUP))
            what = LOOP_READ | LOOP_WRITE;
        if (e & EPOLLIN)
            what |= LOOP_READ;
        if (e & EPOLLOUT)
            what |= LOOP_WRITE;
        w->fn(w->ud, what);
    }
    return n;
}
