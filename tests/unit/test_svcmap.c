/* SPDX-License-Identifier: MIT */
/* test_svcmap.c: the service list as EnumServicesStatusExW reports it ->
 * per-PID service names (a shared svchost hosting several) and host roles
 * from running connector services. */
#include "snapshot.h"
#include "compat.h"
#include "test.h"
#include "svcmap.h"

static struct svcmap_entry svc[] = {
    {"Dnscache", 1200, true},     {"RemoteAccess", 0, false}, {"LanmanWorkstation", 1200, true},
    {"WAPCSvc", 3100, true},      {"cloudflared", 0, false},  {"nsi", 1200, true},
    {"DnsFilterSvc", 4242, true}, {"Spooler", 0, false},      {"WAPCUpdaterSvc", 3100, true},
};

TEST(names_per_pid)
{
    char out[256];

    svcmap_sort(svc, PF_ARRAY_LEN(svc));
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 1200, out, sizeof(out)), 3);
    T_EQ_STR(out, "Dnscache,LanmanWorkstation,nsi");
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 4242, out, sizeof(out)), 1);
    T_EQ_STR(out, "DnsFilterSvc");
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 3100, out, sizeof(out)), 2);
    T_EQ_STR(out, "WAPCSvc,WAPCUpdaterSvc");
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 777, out, sizeof(out)), 0);
    T_EQ_STR(out, "");
    /* Stopped services have PID 0: never a process's services. */
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 0, out, sizeof(out)), 0);
    T_EQ_STR(out, "");
}

TEST(names_cut_at_whole_names)
{
    char out[20];

    svcmap_sort(svc, PF_ARRAY_LEN(svc));
    /* "Dnscache,LanmanWorkstation" needs 27 bytes: only the first fits. */
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 1200, out, sizeof(out)), 1);
    T_EQ_STR(out, "Dnscache");
    T_EQ_INT(svcmap_names_for_pid(svc, PF_ARRAY_LEN(svc), 1200, out, 8), 0);
    T_EQ_STR(out, "");
}

TEST(roles_from_running_services)
{
    struct pf_snapshot s;
    struct svcmap_entry rras[] = {
        {"REMOTEACCESS", 2000, true}, {"CloudFlared", 2100, true}, {"WAPCSvc", 0, false},
    };

    memset(&s, 0, sizeof(s));
    T_ASSERT(!svcmap_roles(svc, PF_ARRAY_LEN(svc), &s)); /* RemoteAccess is stopped */
    T_EQ_INT(s.host.nroles, 1);
    T_EQ_STR(s.host.roles[0], "entra-connector");

    memset(&s, 0, sizeof(s));
    T_ASSERT(svcmap_roles(rras, PF_ARRAY_LEN(rras), &s));
    T_EQ_INT(s.host.nroles, 2);
    T_EQ_STR(s.host.roles[0], "rras");
    T_EQ_STR(s.host.roles[1], "cloudflared");
    T_ASSERT(svcmap_running(rras, PF_ARRAY_LEN(rras), "remoteaccess"));
    T_ASSERT(!svcmap_running(rras, PF_ARRAY_LEN(rras), "WAPCSvc"));
    T_ASSERT(!svcmap_running(rras, PF_ARRAY_LEN(rras), "RemoteAccessX"));

    memset(&s, 0, sizeof(s));
    T_ASSERT(!svcmap_roles(NULL, 0, &s));
    T_EQ_INT(s.host.nroles, 0);
}

int main(void)
{
    RUN(names_per_pid);
    RUN(names_cut_at_whole_names);
    RUN(roles_from_running_services);
    return T_DONE();
}
