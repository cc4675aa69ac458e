/* SPDX-License-Identifier: MIT */
/* test_cfmetrics.c: cloudflared's Prometheus text (a scrape shaped as its
 * documentation lists the metrics: tests/data/cloudflared_metrics.txt),
 * its metrics address from a command line and a config.yml, and the
 * loopback-only rule. */
#include <stdlib.h>

#include "cfmetrics.h"
#include "test.h"

TEST(scrape)
{
    size_t len = 0;
    char *buf = t_read_data("cloudflared_metrics.txt", &len);
    struct pf_sessions se;
    double v = -1;

    T_ASSERT(buf && len > 0);
    T_EQ_INT(cfmetrics_parse(buf, len, &se), PF_OK);
    T_EQ_STR(se.source, "cloudflared");
    T_ASSERT(se.has_tcp_active && se.has_udp_active && !se.has_users);
    T_EQ_INT(se.tcp_active, 3100);
    T_EQ_INT(se.udp_active, 240);
    /* Exact names: the _total counters and other metrics are not taken. */
    T_ASSERT(cfmetrics_sum(buf, len, "cloudflared_tcp_total_sessions", &v));
    T_ASSERT(v == 1874213.0);
    /* Labelled samples are summed. */
    T_ASSERT(cfmetrics_sum(buf, len, "quic_client_latest_rtt", &v));
    T_ASSERT(v == 26.0);
    T_ASSERT(!cfmetrics_sum(buf, len, "cloudflared_tcp_active", &v));
    free(buf);
}

TEST(scrape_shapes)
{
    struct pf_sessions se;
    double v;
    const char *s = "cloudflared_udp_active_sessions 7\n";

    /* One gauge is enough; the other stays unmeasured. */
    T_EQ_INT(cfmetrics_parse(s, strlen(s), &se), PF_OK);
    T_ASSERT(!se.has_tcp_active && se.has_udp_active);
    s = "# cloudflared_tcp_active_sessions 5\ngo_goroutines 3\n";
    T_EQ_INT(cfmetrics_parse(s, strlen(s), &se), PF_INVALID);
    s = "x{a=\"}\"} 2\nx 3 1700000000000\r\n";
    T_ASSERT(cfmetrics_sum(s, strlen(s), "x", &v));
    T_ASSERT(v == 5.0);
    s = "x NaN\n";
    T_ASSERT(!cfmetrics_sum(s, strlen(s), "x", &v));
    s = "x -1\n";
    T_ASSERT(!cfmetrics_sum(s, strlen(s), "x", &v));
    s = "x{a=\"1\" 2\n";
    T_ASSERT(!cfmetrics_sum(s, strlen(s), "x", &v));
}

TEST(loopback)
{
    char host[CFMETRICS_HOST_LEN];
    uint16_t port = 0;

    T_ASSERT(cfmetrics_loopback("127.0.0.1:20241", host, &port));
    T_EQ_STR(host, "127.0.0.1");
    T_EQ_INT(port, 20241);
    T_ASSERT(cfmetrics_loopback("localhost:60123", host, &port));
    T_EQ_STR(host, "127.0.0.1");
    T_ASSERT(cfmetrics_loopback("0.0.0.0:2000", host, &port));
    T_EQ_STR(host, "127.0.0.1");
    T_ASSERT(cfmetrics_loopback(":2000", host, &port));
    T_ASSERT(cfmetrics_loopback("127.0.0.53:2000", host, &port));
    T_EQ_STR(host, "127.0.0.53");
    T_ASSERT(cfmetrics_loopback("[::1]:2000", host, &port));
    T_EQ_STR(host, "::1");
    T_ASSERT(cfmetrics_loopback("[::]:2000", host, &port));
    T_EQ_STR(host, "::1");
    T_ASSERT(!cfmetrics_loopback("localhost:", host, &port)); /* random port */
    T_ASSERT(!cfmetrics_loopback("10.0.0.5:2000", host, &port));
    T_ASSERT(!cfmetrics_loopback("metrics.example:2000", host, &port));
    T_ASSERT(!cfmetrics_loopback("127.0.0.1:70000", host, &port));
    T_ASSERT(!cfmetrics_loopback("::1:2000", host, &port));
    T_ASSERT(!cfmetrics_loopback("127.0.0.1", host, &port));
}

TEST(address_sources)
{
    const char *a1[] = {"/usr/bin/cloudflared", "tunnel", "--metrics", "127.0.0.1:60123", "run"};
    const char *a2[] = {"cloudflared", "tunnel", "--metrics=localhost:2000", "run", "x"};
    const char *a3[] = {"cloudflared", "tunnel", "run", "--token", "abc"};
    const char *cfg = "tunnel: 6ff42ae2\ncredentials-file: /root/.cloudflared/6ff42ae2.json\n"
                      "ingress:\n  - service: http_status:404\n    metrics: 1.2.3.4:1\n"
                      "metrics: \"127.0.0.1:40705\"   # for zabbix\n";
    char out[64];

    T_ASSERT(cfmetrics_from_args(a1, 5, out, sizeof(out)));
    T_EQ_STR(out, "127.0.0.1:60123");
    T_ASSERT(cfmetrics_from_args(a2, 5, out, sizeof(out)));
    T_EQ_STR(out, "localhost:2000");
    T_ASSERT(!cfmetrics_from_args(a3, 5, out, sizeof(out)));
    T_ASSERT(cfmetrics_from_config(cfg, strlen(cfg), out, sizeof(out)));
    T_EQ_STR(out, "127.0.0.1:40705");
    cfg = "metrics: localhost:2000 # comment\r\n";
    T_ASSERT(cfmetrics_from_config(cfg, strlen(cfg), out, sizeof(out)));
    T_EQ_STR(out, "localhost:2000");
    cfg = "tunnel: x\n  metrics: 127.0.0.1:9\n";
    T_ASSERT(!cfmetrics_from_config(cfg, strlen(cfg), out, sizeof(out)));
}

int main(void)
{
    RUN(scrape);
    RUN(scrape_shapes);
    RUN(loopback);
    RUN(address_sources);
    return T_DONE();
}
