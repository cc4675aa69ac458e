/* SPDX-License-Identifier: MIT */
/* snapshot.h: the in-memory form of one snapshot (docs/protocol.md section 2).
 * The agent fills it, the codec (snapshot_json.h) turns it into JSON and back, the
 * collector stores it. Lists are heap arrays owned by the snapshot and freed
 * by pf_snapshot_free(); strings are fixed-size, NUL-terminated, and the
 * decoder rejects longer ones. Optional sections carry a has_* flag. */
#ifndef PF_SNAPSHOT_H
#define PF_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot_fields.h"
#include "tcp_state.h"

#define PF_SNAPSHOT_SCHEMA "portfleet.snapshot.v1"

/* Caps: what the agent sends at most and the decoder accepts at most. */
#define PF_LIST_MAX 50        /* processes, remotes, vpn client top */
#define PF_RANGES_MAX 8       /* {tcp,udp} x {ipv4,ipv6}, with room */
#define PF_EXCLUDED_MAX 256   /* excluded / reserved port blocks */
#define PF_ROLES_MAX 8
#define PF_UNMEASURED_MAX 16
#define PF_ADDR_LEN 46        /* INET6_ADDRSTRLEN */
#define PF_NAME_LEN 256       /* host and process names, services, text */
#define PF_ID_LEN 64          /* agent_id, site, roles, short strings */
#define PF_MACHINE_ID_LEN 128
#define PF_TENANT_LEN 65      /* collector side: a tenant name, [a-z0-9-]{1,64} */

enum pf_proto { PF_PROTO_TCP = 0, PF_PROTO_UDP = 1 };
enum pf_family { PF_FAMILY_IPV4 = 0, PF_FAMILY_IPV6 = 1 };

/* "tcp"/"udp", "ipv4"/"ipv6"; and back (-1 when unknown). */
const char *pf_proto_name(int proto);
const char *pf_family_name(int family);
int pf_proto_from_name(const char *s);
int pf_family_from_name(const char *s);

struct pf_range {
    uint8_t proto;  /* enum pf_proto */
    uint8_t family; /* enum pf_family */
    uint16_t start; /* 1..65535 */
    uint32_t count; /* 1..65535, start + count - 1 <= 65535 */
};

struct pf_endpoint {
    char addr[PF_ADDR_LEN]; /* numeric IPv4 or IPv6 text */
    uint16_t port;          /* 1..65535 */
    uint64_t count;
};

struct pf_process {
    uint32_t pid;
    char name[PF_NAME_LEN];    /* image or command name */
    char service[PF_NAME_LEN]; /* service/unit name(s); "" when none */
    uint64_t tcp_ports;        /* distinct local TCP ports inside the range */
    uint64_t udp_ports;        /* distinct local UDP ports inside the range */
    uint64_t states[PF_TCP_NSTATES]; /* this process's TCP sockets per state */
    bool has_top_remote;
    struct pf_endpoint top_remote;
};

struct pf_host {
    char name[PF_NAME_LEN];
    char site[PF_ID_LEN];
    char machine_id[PF_MACHINE_ID_LEN];
    char os[PF_ID_LEN];         /* "linux", "windows" */
    char os_version[PF_ID_LEN];
    char roles[PF_ROLES_MAX][PF_ID_LEN];
    size_t nroles;
    uint32_t cpus;
    uint64_t memory_mb;
    char agent_version[PF_ID_LEN];
};

/* Windows event counts since the previous snapshot. */
struct pf_events {
    uint64_t tcpip_4227;
    uint64_t tcpip_4231;
    uint64_t tcpip_4266;
    uint64_t netlogon_5719;
};

enum pf_vpn_proto { PF_VPN_IKEV2 = 0, PF_VPN_SSTP, PF_VPN_L2TP, PF_VPN_PPTP, PF_VPN_NPROTO };

struct pf_client_addr {
    char addr[PF_ADDR_LEN];
    uint64_t count;
};

/* One RRAS protocol's WAN miniport ports (vpn.ports). */
struct pf_vpn_port {
    uint8_t proto;       /* enum pf_vpn_proto */
    uint64_t configured; /* ports of that device type */
    uint64_t in_use;     /* of them, carrying a connection; <= configured */
};

struct pf_vpn {
    uint64_t connections;
    uint64_t by_protocol[PF_VPN_NPROTO];
    uint64_t distinct_clients;
    struct pf_client_addr *top; /* at most PF_LIST_MAX */
    size_t ntop;
    bool has_ike_value; /* false: JSON null (registry value not set) */
    uint32_t ike_num_established_for_initial_query;
    bool has_ports; /* vpn.ports, at most one entry per protocol */
    struct pf_vpn_port ports[PF_VPN_NPROTO];
    size_t nports;
    bool has_address_pool; /* vpn.address_pool: static pool or DHCP block */
    uint64_t pool_size;
    uint64_t pool_in_use; /* <= pool_size */
};

/* A figure of snapshot_fields.h: its has_ flag and its value. */
#define PF_FIELD_MEMBER(section, name, kind, text, rollup)                                         \
    bool has_##name;                                                                               \
    PF_FIELD_CTYPE_##kind name;

/* Host CPU and memory (resources): snapshot_fields.h's figures. CPU
 * figures are percentages of all cores, kept to hundredths (the codec
 * rounds to them so a value survives encode and decode unchanged). */
struct pf_resources {
    PF_RESOURCES_FIELDS(PF_FIELD_MEMBER)
};

/* What the connector software itself reports (sessions). */
struct pf_sessions {
    char source[PF_ID_LEN]; /* "cloudflared", "entra-connector" */
    PF_SESSIONS_FIELDS(PF_FIELD_MEMBER)
};

struct pf_agent_stats {
    uint64_t spool_depth;
    uint64_t spool_dropped;
    uint64_t spool_corrupt;
    bool has_last_push_error;
    char last_push_error[PF_NAME_LEN];
};

struct pf_snapshot {
    char agent_id[PF_ID_LEN]; /* "" when not enrolled */
    uint64_t seq;
    int64_t taken_at; /* seconds since the epoch, UTC */
    uint32_t interval_s;
    struct pf_host host;

    struct pf_range ranges[PF_RANGES_MAX];
    size_t nranges;
    bool has_excluded;
    struct pf_range *excluded;
    size_t nexcluded;

    struct {
        uint64_t states[PF_TCP_NSTATES];
        uint64_t ephemeral_in_use;
        bool has_top_destination;
        struct pf_endpoint top_destination;
    } tcp;
    struct {
        uint64_t endpoints;
        uint64_t ephemeral_in_use;
    } udp;

    bool has_processes;
    struct pf_process *processes; /* sorted by tcp_ports + udp_ports, desc */
    size_t nprocesses;
    bool has_remotes;
    struct pf_endpoint *remotes; /* sorted by count, desc */
    size_t nremotes;

    bool has_events;
    struct pf_events events;
    bool has_vpn;
    struct pf_vpn vpn;
    bool has_resources;
    struct pf_resources resources;
    bool has_sessions;
    struct pf_sessions sessions;

    /* Paths this agent could not measure, e.g. "tcp.states.bound". */
    char unmeasured[PF_UNMEASURED_MAX][PF_ID_LEN];
    size_t nunmeasured;

    bool has_agent_stats;
    struct pf_agent_stats agent_stats;
    bool truncated;
};

/* snapshot_fields.h's figures as a table, in the list's order, with where
 * each lives in struct pf_snapshot: what the codec, the comparison and
 * the views loop over. */
enum pf_field_kind { PF_FIELD_COUNT, PF_FIELD_PCT, PF_FIELD_RATE };
enum pf_field_section { PF_SECTION_resources, PF_SECTION_sessions };
enum pf_field_id {
#define PF_FIELD_ID(section, name, kind, text, rollup) PF_FIELD_##section##_##name,
    PF_SNAPSHOT_FIELDS(PF_FIELD_ID)
#undef PF_FIELD_ID
        PF_NFIELDS
};
struct pf_field {
    enum pf_field_section section;
    const char *section_name; /* "resources" */
    const char *name;         /* "cpu_pct" */
    const char *path;         /* "resources.cpu_pct" */
    enum pf_field_kind kind;
    const char *text; /* the text view's label; "" */
    int rollup;
    size_t section_has, has, value; /* offsets in struct pf_snapshot */
};
extern const struct pf_field pf_fields[PF_NFIELDS];

/* Whether s has figure f (its section and the figure are present). */
bool pf_field_has(const struct pf_snapshot *s, const struct pf_field *f);
/* The value of f in s (present or not): a COUNT's, and any kind's as a
 * double. */
uint64_t pf_field_count(const struct pf_snapshot *s, const struct pf_field *f);
double pf_field_value(const struct pf_snapshot *s, const struct pf_field *f);
/* Where f's flag and value live in s, to fill them (a COUNT's value is a
 * uint64_t, the others' a double). */
bool *pf_field_has_ptr(struct pf_snapshot *s, const struct pf_field *f);
void *pf_field_value_ptr(struct pf_snapshot *s, const struct pf_field *f);

/* "ikev2", "sstp", "l2tp", "pptp"; and back (-1 when unknown). */
const char *pf_vpn_proto_name(int proto);
int pf_vpn_proto_from_name(const char *s);

/* Returns a zeroed snapshot (all optional sections absent), or NULL when out
 * of memory. Free with pf_snapshot_free(). */
struct pf_snapshot *pf_snapshot_new(void);
/* Frees s and every list it owns; NULL does nothing. */
void pf_snapshot_free(struct pf_snapshot *s);
/* Frees the lists s owns and zeroes it (for snapshots on the stack). */
void pf_snapshot_clear(struct pf_snapshot *s);

/* Adds a path to unmeasured (no duplicates). PF_TOOBIG when full. */
enum pf_rc pf_snapshot_add_unmeasured(struct pf_snapshot *s, const char *path);
/* True when path is listed in unmeasured. */
bool pf_snapshot_is_unmeasured(const struct pf_snapshot *s, const char *path);
/* Adds a role (no duplicates). PF_TOOBIG when full. */
enum pf_rc pf_snapshot_add_role(struct pf_snapshot *s, const char *role);

/* Ports of the proto/family range minus the excluded ports inside it (the
 * "usable" ports of the capacity model; each port once, blocks of the same
 * proto/family only, none when has_excluded is false); 0 when no such
 * range. */
uint32_t pf_snapshot_usable_ports(const struct pf_snapshot *s, int proto, int family);
/* The range for proto/family, or NULL. */
const struct pf_range *pf_snapshot_range(const struct pf_snapshot *s, int proto, int family);

/* Compares two snapshots field by field. Returns 0 when equal; otherwise
 * non-zero and writes the first differing path into where (if not NULL). */
int pf_snapshot_compare(const struct pf_snapshot *a, const struct pf_snapshot *b, char *where,
                        size_t wherelen);

#endif
