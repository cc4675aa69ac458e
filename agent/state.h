/* SPDX-License-Identifier: MIT */
/* state.h: what the agent keeps in --state-dir between runs. state.json
 * holds the identity the collector gave at enrollment (agent_id, node_key)
 * and the last seq handed out; status.json is what `portfleet-agent
 * status` prints (last push, spool counters, last error), rewritten by the
 * run loop. Both are written atomically and durably (osutil.h), owner-only.
 *
 * seq is persisted before a snapshot with that seq is spooled, so a crash
 * may skip a seq but never reuses one. */
#ifndef PF_STATE_H
#define PF_STATE_H

#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define STATE_FILE "state.json"
#define STATUS_FILE "status.json"
#define LOCK_FILE "agent.lock" /* held by `run`; `status` probes it */
#define SPOOL_SUBDIR "spool"   /* spool.h's directory */
#define STATE_KEY_LEN 256
#define STATE_URL_LEN 512
#define STATE_MAX_BYTES 16384 /* cap when reading either file */

struct agent_state {
    char agent_id[PF_ID_LEN];     /* "" until enrolled */
    char node_key[STATE_KEY_LEN]; /* "" until enrolled; a secret */
    uint64_t seq;                 /* last seq handed out; 0 before the first */
};

struct agent_status {
    int64_t updated_at;         /* wall clock, seconds since the epoch */
    unsigned long pid;          /* of the agent that wrote it */
    int64_t started_at;
    int64_t last_push_at;       /* last push attempt; 0 never */
    int64_t last_ok_at;         /* last accepted push; 0 never */
    char last_error[PF_NAME_LEN]; /* "" when the last push succeeded */
    char collector[STATE_URL_LEN]; /* collector of the last push */
    uint64_t spool_depth, spool_bytes, spool_dropped, spool_corrupt;
    uint64_t delivered;         /* snapshots accepted since start */
    uint64_t connections;       /* TCP connections opened since start */
};

/* Loads dir/state.json into st. A missing file gives an empty state
 * (not enrolled, seq 0) and PF_OK. A file that is unreadable or not a
 * valid state gives PF_INVALID (or PF_IO) with st emptied. */
enum pf_rc state_load(const char *dir, struct agent_state *st);

/* Writes st to dir/state.json atomically and durably. */
enum pf_rc state_save(const char *dir, const struct agent_state *st);

/* Hands out the next seq: increments st->seq, persists it, and only then
 * stores it in *seq. On failure st->seq is unchanged and nothing may be
 * spooled. */
enum pf_rc state_next_seq(const char *dir, struct agent_state *st, uint64_t *seq);

/* Checks that an agent_id or node_key from a collector is safe to store and
 * to send in a header: 1..maxlen-1 printable ASCII characters, no spaces.
 * Returns PF_OK or PF_INVALID. */
enum pf_rc state_check_token(const char *s, size_t maxlen);

/* Writes/reads dir/status.json. Reading a missing file gives PF_NOTFOUND. */
enum pf_rc state_write_status(const char *dir, const struct agent_status *st);
enum pf_rc state_read_status(const char *dir, struct agent_status *st);

#endif
