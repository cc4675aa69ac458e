/* SPDX-License-Identifier: MIT */
/* spool.h: the agent's on-disk queue of snapshots not yet accepted by a
 * collector. Every snapshot is written here before it is sent, so nothing
 * is lost to a crash, a reboot or a collector outage.
 *
 * Layout: one file per record in the spool directory, named
 * "<seq, 20 digits>.snap", holding a 24-byte header (magic "PFSP", format
 * version, seq, payload length, CRC32C of header and payload) and the
 * payload (the snapshot JSON). A record is written to "<name>.tmp",
 * flushed, renamed into place and the directory flushed (osutil.h), so a
 * crash leaves either no record or a whole one; a record that fails its
 * checks anyway (torn by the disk, edited, truncated) is deleted and
 * counted as corrupt, never fatal.
 *
 * Cap: the spool directory takes at most max_bytes of disk. One block is
 * set aside for the directory itself; each record counts as its size
 * rounded up to whole 4 KiB blocks plus a directory entry (64 bytes, twice
 * what ext4 uses for these names), which is what the file system allocates
 * for it. Adding a record that would pass the cap first deletes the oldest
 * records (counted as dropped). */
#ifndef PF_SPOOL_H
#define PF_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SPOOL_HEADER_LEN 24
#define SPOOL_RECORD_MAX (4u << 20) /* largest payload accepted (4 MiB) */
#define SPOOL_BLOCK 4096u            /* allocation unit assumed for the cap */
#define SPOOL_DIRENT_COST 64u        /* directory entry bytes counted per record */

struct spool;

struct spool_stats {
    uint64_t depth;   /* records waiting */
    uint64_t bytes;   /* disk they take, as counted against the cap */
    uint64_t dropped; /* records deleted by the cap since spool_open */
    uint64_t corrupt; /* records skipped as corrupt since spool_open */
    uint64_t oldest_seq, newest_seq; /* 0 when empty */
};

/* A batch read from the spool: n records in seq order. */
struct spool_batch {
    size_t n;
    uint64_t *seqs;
    char **data; /* payloads, each NUL-terminated */
    size_t *lens;
};

/* Opens the spool in dir (created if missing) with a cap of max_bytes
 * (>= two blocks). Removes leftover temporary files, checks every record
 * and deletes (and counts) the corrupt ones. On success *out is the spool
 * (free with spool_free). Returns PF_IO/PF_PERM when dir is unusable,
 * PF_INVALID for a cap below 2 * SPOOL_BLOCK. */
enum pf_rc spool_open(const char *dir, uint64_t max_bytes, struct spool **out);

/* Closes the spool; the records stay on disk. NULL does nothing. */
void spool_free(struct spool *sp);

/* Durably adds a record with this seq (which must not be in the spool
 * yet). Deletes the oldest records first while the new one would pass the
 * cap. Returns PF_OK once the record is on disk; PF_TOOBIG when the record
 * alone is larger than the cap or SPOOL_RECORD_MAX; PF_INVALID for a seq
 * already present; PF_IO when the write failed. */
enum pf_rc spool_put(struct spool *sp, uint64_t seq, const void *data, size_t len);

/* Reads the oldest records, in seq order, into b (cleared first): at most
 * max_records, and no more than max_bytes of payload in total unless the
 * first record alone is bigger (it is still returned, alone, so a caller
 * can decide what to do with it). Corrupt records met on the way are
 * deleted and counted. The caller frees b with spool_batch_clear. Returns
 * PF_OK (b->n == 0 when the spool is empty) or PF_NOMEM. */
enum pf_rc spool_peek(struct spool *sp, size_t max_records, size_t max_bytes,
                      struct spool_batch *b);

/* Deletes the records with these seqs (absent ones are ignored) and flushes
 * the directory: called once a collector accepted them, or when they were
 * dropped for good. Returns PF_IO when a file could not be deleted. */
enum pf_rc spool_remove(struct spool *sp, const uint64_t *seqs, size_t n);

/* Frees what spool_peek put in b and zeroes it. */
void spool_batch_clear(struct spool_batch *b);

/* The spool's counters now. */
void spool_get_stats(const struct spool *sp, struct spool_stats *st);

/* The disk a record of len payload bytes is counted as taking. */
uint64_t spool_record_cost(size_t len);

/* CRC32C (Castagnoli) of len bytes, continuing from crc (0 to start). */
uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len);

#endif
