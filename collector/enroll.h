/* SPDX-License-Identifier: MIT */
/* enroll.h: POST /v1/enroll (docs/protocol.md section 1). The enroll secret is
 * compared in constant time (401 bad_secret); the host's name, site and
 * machine id are recorded but never used as identity: every enrollment
 * gets a fresh random agent_id and a fresh 256-bit node key, of which the
 * database keeps only the SHA-256, so cloned hosts with one machine id
 * become distinct agents. */
#ifndef PF_ENROLL_H
#define PF_ENROLL_H

struct exchange;

/* The route handler (loop thread): defers to a database worker. */
void enroll_handle(struct exchange *x);

#endif
