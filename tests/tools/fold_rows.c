/* SPDX-License-Identifier: MIT */
/* fold_rows.c: the in-memory path of the hourly fold (fleet_add_snapshot(),
 * collector/capacity/fold.h) printed as rows, for collector_fold.sh to
 * compare with what ingest and the queue wrote to host_hours and
 * process_hours.
 *
 *   fold_rows NOW BODY.json...
 *
 * Each BODY is a POST /v1/snapshots body. Prints, sorted by the caller:
 *   H|hour|tcp_max|udp_max|top_dest_max|vpn_conn_max|ev4227|ev4231|ev4266|ev5719
 *   P|hour|name|service|held_max|held_min|bound_max
 *   R|name|service|remote_addr|remote_port|remote_at   (latest remote)
 * with hours and times in Unix seconds and absent values empty. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fleet.h"
#include "snapshot_json.h"

static void num(double v)
{
    if (!isnan(v))
        printf("%.0f", v);
}

static int add_file(struct fleet *f, const char *path)
{
    char err[PF_ERRMSG_LEN];
    struct pf_snapshot *arr = NULL;
    size_t n = 0, len;
    char *buf;
    FILE *fp = fopen(path, "rb");
    long sz;

    if (!fp || fseek(fp, 0, SEEK_END) || (sz = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
        fprintf(stderr, "%s: cannot read\n", path);
        return 1;
    }
    buf = malloc((size_t)sz + 1);
    len = buf ? fread(buf, 1, (size_t)sz, fp) : 0;
    fclose(fp);
    if (!buf || len != (size_t)sz ||
        pf_snapshot_decode_body(buf, len, &arr, &n, err) != PF_OK) {
        fprintf(stderr, "%s: %s\n", path, buf ? err : "out of memory");
        free(buf);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (fleet_add_snapshot(f, &arr[i]) != PF_OK) {
            fprintf(stderr, "%s: fold failed\n", path);
            return 1;
        }
    pf_snapshot_array_free(arr, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    struct fleet_params p;
    struct fleet *f;

    if (argc < 3) {
        fprintf(stderr, "usage: fold_rows NOW BODY.json...\n");
        return 2;
    }
    fleet_params_default(&p);
    p.now = strtoll(argv[1], NULL, 10);
    p.window_s = 30 * 86400;
    if (!(f = fleet_new(&p)))
        return 1;
    for (int i = 2; i < argc; i++)
        if (add_file(f, argv[i]))
            return 1;
    for (size_t k = 0; k < f->nhosts; k++) {
        const struct fleet_host *x = &f->hosts[k];
        for (size_t h = 0; h < f->nhours; h++) {
            int64_t hour = f->start + (int64_t)h * FLEET_HOUR;
            if (isnan(x->tcp[h]))
                continue; /* no snapshot that hour */
            printf("H|%" PRId64 "|", hour);
            num(x->tcp[h]);
            putchar('|');
            num(x->udp[h]);
            putchar('|');
            num(x->top_dest[h]);
            putchar('|');
            num(x->vpn_conn[h]);
            printf("|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "\n", x->events[h].tcpip_4227,
                   x->events[h].tcpip_4231, x->events[h].tcpip_4266, x->events[h].netlogon_5719);
            /* the sizing figures as host_hours keeps them (1/scale) */
            printf("S|%" PRId64, hour);
            for (int c = 0; c < SIZING_N; c++) {
                putchar('|');
                if (x->sz[c])
                    num(x->sz[c][h] * (double)sizing_scale(c));
            }
            putchar('\n');
        }
        for (size_t j = 0; j < x->nprocs; j++) {
            const struct fleet_proc *q = &x->procs[j];
            for (size_t h = 0; h < f->nhours; h++) {
                if (isnan(q->held[h]))
                    continue;
                printf("P|%" PRId64 "|%s|%s|", f->start + (int64_t)h * FLEET_HOUR, q->name,
                       q->service);
                num(q->held[h]);
                putchar('|');
                num(q->held_min[h]);
                putchar('|');
                num(q->bound[h]);
                putchar('\n');
            }
            if (q->has_remote)
                printf("R|%s|%s|%s|%u|%" PRId64 "\n", q->name, q->service, q->remote.addr,
                       (unsigned)q->remote.port, q->remote_at);
        }
    }
    fleet_free(f);
    return 0;
}
