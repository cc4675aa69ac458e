/* SPDX-License-Identifier: MIT */
/* textview.h: a snapshot as an admin reads it at a console: the range and
 * how full it is, TCP states, the top destination (on Linux the limit is
 * per destination), and the processes holding ephemeral ports with their
 * bound sockets and remote ends — what `netstat -anobq` makes you count by
 * hand. `portfleet-agent snapshot --text` prints it. */
#ifndef PF_TEXTVIEW_H
#define PF_TEXTVIEW_H

#include "buf.h"
#include "snapshot.h"

/* Appends the text view of s to out. PF_TOOBIG/PF_NOMEM from the buffer. */
enum pf_rc textview_render(const struct pf_snapshot *s, struct pf_buf *out);

#endif
