/* SPDX-License-Identifier: MIT */
/* test_service.c: the platform-neutral parts of `install` (service.h): the
 * config file both service kinds write, and the OS error map both OSes
 * share (osutil.h). */
#include "test.h"

#include <errno.h>

#include "buf.h"
#include "osutil.h"
#include "service.h"

static char *args_ok[] = {"--collector=https://c:8443", "--enroll-secret= padded ",
                          "--config=/etc/portfleet/agent.conf", "--state-dir=pf",
                          "--site=\"quoted"};

TEST(config_text_lines)
{
    struct pf_buf b;
    char err[128] = "";

    pf_buf_init(&b, 4096);
    T_EQ_INT(service_config_text(&b, 5, args_ok, NULL, "\r\n", err, sizeof(err)), PF_OK);
    T_EQ_STR(b.data, "# portfleet-agent options, written by `portfleet-agent install`\r\n"
                     "collector = https://c:8443\r\n"
                     "enroll-secret = \" padded \"\r\n"
                     "state-dir = pf\r\n"
                     "site = \"\"quoted\"\r\n");
    pf_buf_free(&b);
}

TEST(config_text_state_dir_replaced)
{
    struct pf_buf b;
    char err[128] = "";

    pf_buf_init(&b, 4096);
    T_EQ_INT(service_config_text(&b, 4, args_ok, "/var/lib/pf", "\n", err, sizeof(err)), PF_OK);
    T_ASSERT(strstr(b.data, "\nstate-dir = /var/lib/pf\n") != NULL);
    T_ASSERT(strstr(b.data, "config =") == NULL); /* the file does not name itself */
    pf_buf_free(&b);
}

TEST(config_text_refuses_line_breaks)
{
    char *bad[] = {"--site=a\nenroll-secret = x"};
    struct pf_buf b;
    char err[128] = "";

    pf_buf_init(&b, 4096);
    T_EQ_INT(service_config_text(&b, 1, bad, NULL, "\n", err, sizeof(err)), PF_INVALID);
    T_ASSERT(strstr(err, "--site") != NULL);
    pf_buf_free(&b);
}

TEST(config_text_capped)
{
    struct pf_buf b;
    char err[128] = "";

    pf_buf_init(&b, 80);
    T_EQ_INT(service_config_text(&b, 5, args_ok, NULL, "\n", err, sizeof(err)), PF_TOOBIG);
    pf_buf_free(&b);
}

#ifndef _WIN32
TEST(os_errors_map)
{
    T_EQ_INT(osutil_rc_from_os(ENOENT), PF_NOTFOUND);
    T_EQ_INT(osutil_rc_from_os(EACCES), PF_PERM);
    T_EQ_INT(osutil_rc_from_os(EAGAIN), PF_AGAIN); /* a held lock: try again, as on Windows */
    T_EQ_INT(osutil_rc_from_os(EBUSY), PF_AGAIN);
    T_EQ_INT(osutil_rc_from_os(ENOMEM), PF_NOMEM);
    T_EQ_INT(osutil_rc_from_os(ENAMETOOLONG), PF_TOOBIG);
    T_EQ_INT(osutil_rc_from_os(ENOSPC), PF_IO);
}
#endif

int main(void)
{
    RUN(config_text_lines);
    RUN(config_text_state_dir_replaced);
    RUN(config_text_refuses_line_breaks);
    RUN(config_text_capped);
#ifndef _WIN32
    RUN(os_errors_map);
#endif
    return T_DONE();
}
