/* SPDX-License-Identifier: MIT */
/* test_state.c: state.json and status.json in a real directory: a fresh
 * directory is "not enrolled, seq 0"; seq is persisted before it is handed
 * out, so a process that "crashes" right after never sees it again; an
 * identity survives a reload; damaged or half files are refused instead of
 * being half trusted; unsafe tokens are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "test.h"

static char dir[256];

static void fresh_dir(const char *name)
{
    char cmd[600];

    snprintf(dir, sizeof(dir), "/tmp/pf_test_state_%ld_%s", (long)getpid(), name);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "setup of %s failed\n", dir);
}

static void drop_dir(void)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void write_file(const char *name, const char *text)
{
    char p[600];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(missing_file_is_empty_state)
{
    struct agent_state st;

    fresh_dir("missing");
    memset(&st, 0x55, sizeof(st));
    T_EQ_INT(state_load(dir, &st), PF_OK);
    T_EQ_STR(st.agent_id, "");
    T_EQ_STR(st.node_key, "");
    T_EQ_INT(st.seq, 0);
    drop_dir();
}

TEST(seq_persisted_before_handed_out)
{
    struct agent_state st, after_crash;
    uint64_t seq = 0;

    fresh_dir("seq");
    T_EQ_INT(state_load(dir, &st), PF_OK);
    for (int i = 1; i <= 50; i++) {
        T_EQ_INT(state_next_seq(dir, &st, &seq), PF_OK);
        T_EQ_INT(seq, i);
    }
    /* "crash": forget everything in memory, read the disk */
    T_EQ_INT(state_load(dir, &after_crash), PF_OK);
    T_EQ_INT(after_crash.seq, 50);
    T_EQ_INT(state_next_seq(dir, &after_crash, &seq), PF_OK);
    T_EQ_INT(seq, 51);
    drop_dir();
}

TEST(failed_write_does_not_hand_out_seq)
{
    struct agent_state st;
    uint64_t seq = 7;

    memset(&st, 0, sizeof(st));
    st.seq = 9;
    T_ASSERT(state_next_seq("/nonexistent/pf/state", &st, &seq) != PF_OK);
    T_EQ_INT(st.seq, 9);
    T_EQ_INT(seq, 7);
}

TEST(identity_survives_reload)
{
    struct agent_state st, back;
    char p[600];
    struct stat sb;

    fresh_dir("identity");
    memset(&st, 0, sizeof(st));
    snprintf(st.agent_id, sizeof(st.agent_id), "9b2c1e7a-0000-4000-8000-000000000001");
    snprintf(st.node_key, sizeof(st.node_key), "k3y_ABCdef0123456789abcdef0123456789");
    st.seq = 1042;
    T_EQ_INT(state_save(dir, &st), PF_OK);
    T_EQ_INT(state_load(dir, &back), PF_OK);
    T_EQ_STR(back.agent_id, st.agent_id);
    T_EQ_STR(back.node_key, st.node_key);
    T_EQ_INT(back.seq, 1042);
    /* the node key is a secret: owner-only */
    snprintf(p, sizeof(p), "%s/%s", dir, STATE_FILE);
    T_EQ_INT(stat(p, &sb), 0);
    T_EQ_INT(sb.st_mode & 0077, 0);
    drop_dir();
}

TEST(leftover_tmp_does_not_matter)
{
    struct agent_state st;

    fresh_dir("tmp");
    write_file(STATE_FILE, "{\"agent_id\":\"a\",\"node_key\":\"k\",\"seq\":12}");
    write_file(STATE_FILE ".tmp", "{\"agent_id\":\"a\",\"node_k"); /* crash mid-write */
    T_EQ_INT(state_load(dir, &st), PF_OK);
    T_EQ_INT(st.seq, 12);
    drop_dir();
}

TEST(damaged_files_refused)
{
    static const char *bad[] = {
        "",
        "{",
        "[1,2]",
        "{\"agent_id\":\"a\",\"seq\":3}", /* key missing: half an identity */
        "{\"agent_id\":\"a\",\"node_key\":\"k\",\"seq\":-1}",
        "{\"agent_id\":\"a\",\"node_key\":\"k\",\"seq\":1.5}",
        "{\"agent_id\":\"a\",\"node_key\":\"k\",\"seq\":\"3\"}",
        "{\"agent_id\":\"a b\",\"node_key\":\"k\",\"seq\":3}",
        "{\"agent_id\":\"a\",\"node_key\":\"k\\r\\nX: y\",\"seq\":3}",
        "{\"agent_id\":7,\"node_key\":\"k\",\"seq\":3}",
    };
    struct agent_state st;

    fresh_dir("damaged");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(STATE_FILE, bad[i]);
        if (state_load(dir, &st) == PF_OK)
            T_FAIL_("accepted bad state #%zu: %s", i, bad[i]);
        T_EQ_INT(st.seq, 0);
        T_EQ_STR(st.agent_id, "");
    }
    drop_dir();
}

TEST(token_check)
{
    char longkey[300];

    T_EQ_INT(state_check_token("abc-DEF_123.=", 64), PF_OK);
    T_EQ_INT(state_check_token("", 64), PF_INVALID);
    T_EQ_INT(state_check_token("a b", 64), PF_INVALID);
    T_EQ_INT(state_check_token("a\r\nb", 64), PF_INVALID);
    T_EQ_INT(state_check_token("caf\xc3\xa9", 64), PF_INVALID);
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    T_EQ_INT(state_check_token(longkey, STATE_KEY_LEN), PF_INVALID);
    longkey[STATE_KEY_LEN - 1] = '\0';
    T_EQ_INT(state_check_token(longkey, STATE_KEY_LEN), PF_OK);
}

TEST(status_round_trip)
{
    struct agent_status s, back;

    fresh_dir("status");
    T_EQ_INT(state_read_status(dir, &back), PF_NOTFOUND);
    memset(&s, 0, sizeof(s));
    s.updated_at = 1795000000;
    s.pid = 4242;
    s.started_at = 1794990000;
    s.last_push_at = 1795000000;
    s.last_ok_at = 1794999940;
    snprintf(s.last_error, sizeof(s.last_error), "HTTP 503 unavailable: \"database\" down");
    snprintf(s.collector, sizeof(s.collector), "https://127.0.0.1:8443");
    s.spool_depth = 17;
    s.spool_bytes = 17 * 4160;
    s.spool_dropped = 3;
    s.spool_corrupt = 1;
    s.delivered = 1000;
    s.connections = 1;
    T_EQ_INT(state_write_status(dir, &s), PF_OK);
    T_EQ_INT(state_read_status(dir, &back), PF_OK);
    T_EQ_INT(back.updated_at, s.updated_at);
    T_EQ_INT(back.pid, 4242);
    T_EQ_INT(back.started_at, s.started_at);
    T_EQ_INT(back.last_ok_at, s.last_ok_at);
    T_EQ_STR(back.last_error, s.last_error);
    T_EQ_STR(back.collector, s.collector);
    T_EQ_INT(back.spool_depth, 17);
    T_EQ_INT(back.spool_bytes, 17 * 4160);
    T_EQ_INT(back.spool_dropped, 3);
    T_EQ_INT(back.spool_corrupt, 1);
    T_EQ_INT(back.delivered, 1000);
    T_EQ_INT(back.connections, 1);
    drop_dir();
}

int main(void)
{
    RUN(missing_file_is_empty_state);
    RUN(seq_persisted_before_handed_out);
    RUN(failed_write_does_not_hand_out_seq);
    RUN(identity_survives_reload);
    RUN(leftover_tmp_does_not_matter);
    RUN(damaged_files_refused);
    RUN(token_check);
    RUN(status_round_trip);
    return T_DONE();
}
