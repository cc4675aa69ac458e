/* SPDX-License-Identifier: MIT */
/* sockdiag.c: inet_diag request building and reply parsing. */
#include "sockdiag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "snapshot.h"
#include "tcp_state.h"

size_t sockdiag_request(void *buf, size_t len, int family, int protocol, uint32_t states,
                        uint32_t seq)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;

    if (len < sizeof(msg))
        return 0;
    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nlh.nlmsg_seq = seq;
    msg.req.sdiag_family = (uint8_t)family;
    msg.req.sdiag_protocol = (uint8_t)protocol;
    msg.req.idiag_states = states;
    msg.req.idiag_ext = 0; /* no extensions: the smallest reply */
    memcpy(buf, &msg, sizeof(msg));
    return sizeof(msg);
}

static enum pf_rc add_record(const struct inet_diag_msg *m, int proto, struct sockrec_vec *out)
{
    struct sockrec *r;

    if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
        return PF_OK; /* not ours; the kernel answered what we asked */
    r = sockrec_vec_push(out);
    if (!r)
        return PF_NOMEM;
    r->proto = (uint8_t)proto;
    r->family = m->idiag_family == AF_INET ? PF_FAMILY_IPV4 : PF_FAMILY_IPV6;
    r->state = proto == PF_PROTO_TCP ? (uint8_t)pf_tcp_state_from_linux(m->idiag_state) : 0;
    r->lport = ntohs(m->id.idiag_sport);
    r->rport = ntohs(m->id.idiag_dport);
    memcpy(r->raddr, m->id.idiag_dst, r->family == PF_FAMILY_IPV4 ? 4 : 16);
    r->inode = m->idiag_inode;
    return PF_OK;
}

enum pf_rc sockdiag_parse(const void *buf, size_t len, int proto, struct sockrec_vec *out,
                          int *done, int *kerr)
{
    const unsigned char *p = buf;
    enum pf_rc rc;

    *done = 0;
    while (len >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr nlh;
        size_t msglen, step;

        memcpy(&nlh, p, sizeof(nlh)); /* the buffer need not be aligned */
        msglen = nlh.nlmsg_len;
        if (msglen < sizeof(nlh) || msglen > len)
            return PF_PROTO;
        if (nlh.nlmsg_type == NLMSG_DONE) {
            /* A dump that fails to start says so in DONE's payload. */
            int32_t err = 0;
            if (msglen >= NLMSG_LENGTH(sizeof(err)))
                memcpy(&err, p + NLMSG_HDRLEN, sizeof(err));
            *done = 1;
            if (err < 0) {
                if (kerr)
                    *kerr = -err;
                return PF_PROTO;
            }
            return PF_OK;
        }
        if (nlh.nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr e;
            if (msglen < NLMSG_LENGTH(sizeof(e)))
                return PF_PROTO;
            memcpy(&e, p + NLMSG_HDRLEN, sizeof(e));
            if (kerr)
                *kerr = -e.error;
            return PF_PROTO;
        }
        if (nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            struct inet_diag_msg m;
            if (msglen < NLMSG_LENGTH(sizeof(m)))
                return PF_PROTO;
            memcpy(&m, p + NLMSG_HDRLEN, sizeof(m));
            rc = add_record(&m, proto, out);
            if (rc)
                return rc;
        }
        step = NLMSG_ALIGN(msglen);
        if (step >= len)
            return PF_OK; /* the last message, perhaps without its padding */
        p += step;
        len -= step;
    }
    return len == 0 ? PF_OK : PF_PROTO;
}
