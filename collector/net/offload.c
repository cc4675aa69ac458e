/* SPDX-License-Identifier: MIT */
/* offload.c: a job queue, its threads and an eventfd back to the loop. */
#include "offload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct offload {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct offload_job *head, *tail, *done;
    bool stop;
    int efd;
    int nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct offload *o = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&o->mu);
    for (;;) {
        struct offload_job *j;
        while (!o->head && !o->stop)
            pthread_cond_wait(&o->cv, &o->mu);
        if (!o->head)
            break;
        j = o->head;
        o->head = j->next;
        if (!o->head)
            o->tail = NULL;
        pthread_mutex_unlock(&o->mu);
        j->run(j);
        pthread_mutex_lock(&o->mu);
        j->next = o->done;
        o->done = j;
        if (write(o->efd, &one, sizeof(one)) < 0) {
            /* cannot overflow in practice */
        }
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

enum pf_rc offload_new(int nthreads, struct offload **out)
{
    struct offload *o = calloc(1, sizeof(*o));

    *out = NULL;
    if (!o)
        return PF_NOMEM;
    o->threads = calloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof(*o->threads));
    o->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!o->threads || o->efd < 0) {
        if (o->efd >= 0)
            close(o->efd);
        free(o->threads);
        free(o);
        return PF_IO;
    }
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    for (int i = 0; i < (nthreads > 0 ? nthreads : 1); i++) {
        if (pthread_create(&o->threads[i], NULL, worker, o) != 0)
            break;
        o->nthreads++;
    }
    if (o->nthreads == 0) {
        offload_free(o);
        return PF_NOMEM;
    }
    *out = o;
    return PF_OK;
}

void offload_free(struct offload *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->stop = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    for (int i = 0; i < o->nthreads; i++)
        pthread_join(o->threads[i], NULL);
    offload_complete(o);
    close(o->efd);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o->threads);
    free(o);
}

void offload_submit(struct offload *o, struct offload_job *j)
{
    pthread_mutex_lock(&o->mu);
    j->next = NULL;
    if (o->tail)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

int offload_event_fd(const struct offload *o)
{
    return o->efd;
}

void offload_complete(struct offload *o)
{
    struct offload_job *j;
    uint64_t v;

    if (read(o->efd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing new; drain anyway */
    }
    pthread_mutex_lock(&o->mu);
    j = o->done;
    o->done = NULL;
    pthread_mutex_unlock(&o->mu);
    while (j) {
        struct offload_job *next = j->next;
        j->done(j);
        j = next;
    }
}
