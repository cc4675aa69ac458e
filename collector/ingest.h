/* SPDX-License-Identifier: MIT */
/* ingest.h: POST /v1/snapshots (docs/protocol.md section 2). The route defers
 * to the database workers. A worker checks each request it took: resolves
 * the node key (401 node_invalid), decodes and validates the body with the
 * common codec (400 invalid, with the field path), checks that every
 * snapshot belongs to the key's agent (403 wrong_agent) and that taken_at
 * is not more than a day ahead (400). Valid requests go on a shared ready
 * list; one worker at a time is the writer and stores everything on it in
 * one transaction (store_ingest: group commit across connections), then
 * answers each request with its own {"accepted", "duplicates"} after
 * COMMIT, or 503 + Retry-After when the database is unavailable.
 * Snapshots older than the retention window are answered as "expired"
 * (counted, not stored: their partition is gone).
 *
 * Node keys are looked up through the server's credential cache
 * (auth_cache.h): no database round trip for a known key, and a revoked
 * key stops working within AUTH_STALE_MS on every collector. */
#ifndef PF_INGEST_H
#define PF_INGEST_H

struct exchange;

/* The route handler (loop thread). */
void ingest_handle(struct exchange *x);

#endif
