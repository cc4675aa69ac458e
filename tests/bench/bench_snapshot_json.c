/* SPDX-License-Identifier: MIT */
/* bench_snapshot_json.c: what the strict codec costs, as ratios against
 * references measured in the same run: decoding a 1000-snapshot batch
 * (strict byte check + arena tree, one snapshot at a time + field walk),
 * the same snapshots as 1000 one-snapshot bodies (pf_snapshot_decode: the
 * whole-tree path) and pf_json_parse (byte check + cJSON) against
 * cJSON_ParseWithLength + cJSON_Delete alone on the same text, and
 * pf_snapshot_encode against cJSON's own printer on the parsed tree. Not a
 * pass/fail test. Usage: bench_snapshot_json [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "snapshot_json.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A busy connector host: 20 processes, 20 remotes, 4 ranges. */
static void fill(struct pf_snapshot *s, uint64_t seq)
{
    pf_snapshot_clear(s);
    snprintf(s->agent_id, sizeof(s->agent_id), "9b2c4e1a-0000-4000-8000-000000000001");
    s->seq = seq;
    s->taken_at = 1795341600 + (int64_t)seq * 60;
    s->interval_s = 60;
    snprintf(s->host.name, sizeof(s->host.name), "CONN-NYC-01");
    snprintf(s->host.site, sizeof(s->host.site), "nyc");
    snprintf(s->host.os, sizeof(s->host.os), "windows");
    snprintf(s->host.agent_version, sizeof(s->host.agent_version), "0.1.0");
    pf_snapshot_add_role(s, "entra-connector");
    for (int i = 0; i < 4; i++)
        s->ranges[i] = (struct pf_range){(uint8_t)(i & 1), (uint8_t)(i >> 1), 49152, 16384};
    s->nranges = 4;
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        s->tcp.states[i] = (uint64_t)(i * 1000 + 7);
    s->tcp.ephemeral_in_use = 12345;
    s->has_processes = s->has_remotes = true;
    s->processes = calloc(20, sizeof(*s->processes));
    s->remotes = calloc(20, sizeof(*s->remotes));
    s->nprocesses = s->nremotes = 20;
    for (int i = 0; i < 20; i++) {
        struct pf_process *p = &s->processes[i];
        p->pid = (uint32_t)(4000 + i);
        snprintf(p->name, sizeof(p->name), "DnsFilterService%d.exe", i);
        snprintf(p->service, sizeof(p->service), "DnsFilterSvc");
        p->tcp_ports = (uint64_t)(2000 - i);
        p->states[PF_TCP_ESTABLISHED] = 100;
        p->states[PF_TCP_BOUND] = 1900;
        p->has_top_remote = true;
        snprintf(p->top_remote.addr, PF_ADDR_LEN, "169.254.169.%d", i);
        p->top_remote.port = 80;
        p->top_remote.count = 50;
        snprintf(s->remotes[i].addr, PF_ADDR_LEN, "2001:db8::%x", i + 1);
        s->remotes[i].port = 443;
        s->remotes[i].count = (uint64_t)(900 - i);
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
    struct pf_snapshot s = {0}, *arr;
    struct pf_buf body;
    char err[PF_ERRMSG_LEN];
    double t0, t_ours = 0, t_cjson = 0, t_parse = 0, t_enc = 0, t_print = 0;
    double t_one = 0, t_one_cjson = 0;
    size_t n, one_at[PF_JSON_BATCH_MAX], one_len[PF_JSON_BATCH_MAX];

    if (rounds < 1)
        rounds = 1;
    pf_buf_init(&body, 256u << 20);
    pf_buf_puts(&body, "{\"snapshots\":[");
    for (uint64_t i = 0; i < PF_JSON_BATCH_MAX; i++) {
        fill(&s, i);
        if (i)
            pf_buf_puts(&body, ",");
        one_at[i] = body.len;
        if (pf_snapshot_encode(&s, 0, &body)) {
            fprintf(stderr, "encode failed\n");
            return 1;
        }
        one_len[i] = body.len - one_at[i];
    }
    pf_buf_puts(&body, "]}");
    for (int r = 0; r < rounds; r++) {
        cJSON *tree;
        t0 = now_s();
        if (pf_snapshot_decode_body(body.data, body.len, &arr, &n, err)) {
            fprintf(stderr, "decode failed: %s\n", err);
            return 1;
        }
        t_ours += now_s() - t0;
        /* References include cJSON_Delete: decode_body frees its tree too. */
        t0 = now_s();
        if (pf_json_parse(body.data, body.len, &tree, err))
            return 1;
        cJSON_Delete(tree);
        t_parse += now_s() - t0;
        t0 = now_s();
        tree = cJSON_ParseWithLength(body.data, body.len);
        if (!tree)
            return 1;
        cJSON_Delete(tree);
        t_cjson += now_s() - t0;
        /* Each snapshot of the batch as a body of its own. */
        t0 = now_s();
        for (size_t i = 0; i < PF_JSON_BATCH_MAX; i++) {
            if (pf_snapshot_decode(body.data + one_at[i], one_len[i], &s, err)) {
                fprintf(stderr, "decode failed: %s\n", err);
                return 1;
            }
        }
        t_one += now_s() - t0;
        t0 = now_s();
        for (size_t i = 0; i < PF_JSON_BATCH_MAX; i++) {
            tree = cJSON_ParseWithLength(body.data + one_at[i], one_len[i]);
            if (!tree)
                return 1;
            cJSON_Delete(tree);
        }
        t_one_cjson += now_s() - t0;
        tree = cJSON_ParseWithLength(body.data, body.len);
        if (!tree)
            return 1;
        {
            struct pf_buf out;
            pf_buf_init(&out, 256u << 20);
            t0 = now_s();
            for (size_t i = 0; i < n; i++)
                pf_snapshot_encode(&arr[i], 0, &out);
            t_enc += now_s() - t0;
            pf_buf_free(&out);
        }
        t0 = now_s();
        char *printed = cJSON_PrintUnformatted(tree);
        t_print += now_s() - t0;
        free(printed);
        cJSON_Delete(tree);
        pf_snapshot_array_free(arr, n);
    }
    printf("body: %zu snapshots, %zu bytes, %d rounds\n", (size_t)PF_JSON_BATCH_MAX, body.len,
           rounds);
    printf("decode_body: %.1f ms/batch; cJSON parse + delete alone: %.1f ms; ratio %.2f\n",
           1e3 * t_ours / rounds, 1e3 * t_cjson / rounds, t_ours / t_cjson);
    printf("decode x1000 one-snapshot bodies: %.1f ms; cJSON parse + delete of each: %.1f ms; "
           "ratio %.2f\n",
           1e3 * t_one / rounds, 1e3 * t_one_cjson / rounds, t_one / t_one_cjson);
    printf("pf_json_parse + delete (byte check + cJSON): %.1f ms; ratio to cJSON alone %.2f\n",
           1e3 * t_parse / rounds, t_parse / t_cjson);
    printf("encode x1000: %.1f ms; cJSON_PrintUnformatted of the tree: %.1f ms; ratio %.2f\n",
           1e3 * t_enc / rounds, 1e3 * t_print / rounds, t_enc / t_print);
    pf_snapshot_clear(&s);
    pf_buf_free(&body);
    return 0;
}
