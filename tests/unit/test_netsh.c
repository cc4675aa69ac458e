/* SPDX-License-Identifier: MIT */
/* test_netsh.c: netsh dynamicport / excludedportrange parsing across
 * languages and encodings. tests/data/win_netsh_*_en.txt follow the English
 * output quoted in the field notes (seed 003); the other languages are
 * constructed in the same layout with translated labels (German and French
 * in OEM code page 850, Japanese in code page 932, UTF-8 and UTF-16LE with
 * a BOM as PowerShell's redirection writes it, full-width colons, no-break
 * spaces, a colon in the title line). They are not recordings from
 * localized Windows hosts. */
#include <stdlib.h>

#include "netsh.h"
#include "compat.h"
#include "test.h"

static enum pf_rc dyn_file(const char *name, uint16_t *start, uint32_t *count)
{
    size_t len = 0;
    char *buf = t_read_data(name, &len);
    enum pf_rc rc;

    if (!buf)
        return PF_NOTFOUND;
    rc = netsh_parse_dynamicport(buf, len, start, count);
    free(buf);
    return rc;
}

static enum pf_rc excl_file(const char *name, struct portblock *out, size_t max, size_t *n)
{
    size_t len = 0;
    char *buf = t_read_data(name, &len);
    enum pf_rc rc;

    if (!buf)
        return PF_NOTFOUND;
    rc = netsh_parse_excluded(buf, len, out, max, n);
    free(buf);
    return rc;
}

TEST(dynamicport_languages)
{
    static const struct {
        const char *file;
        uint16_t start;
        uint32_t count;
    } cases[] = {
        {"win_netsh_dynamicport_en.txt", 49152, 16384},
        {"win_netsh_dynamicport_de.txt", 10000, 55535},
        {"win_netsh_dynamicport_fr.txt", 11000, 50000},
        {"win_netsh_dynamicport_ja_cp932.txt", 60000, 255},
        {"win_netsh_dynamicport_ja_utf16.txt", 49152, 16384},
    };

    for (size_t i = 0; i < PF_ARRAY_LEN(cases); i++) {
        uint16_t start = 0;
        uint32_t count = 0;
        enum pf_rc rc = dyn_file(cases[i].file, &start, &count);
        if (rc != PF_OK)
            T_FAIL_("%s: %s", cases[i].file, pf_strerror(rc));
        T_EQ_INT(start, cases[i].start);
        T_EQ_INT(count, cases[i].count);
    }
}

TEST(dynamicport_rejects)
{
    static const char *bad[] = {
        "",
        "Start Port : 49152\n",                           /* one number only */
        "Start Port : 0\nNumber of Ports : 10\n",         /* start 0 */
        "Start Port : 65000\nNumber of Ports : 1000\n",   /* past 65535 */
        "Start Port : 49152\nNumber of Ports : 0\n",      /* empty range */
        "Start Port : 123456\nNumber of Ports : 10\n",    /* not a port */
        "Start Port : 49152x\nNumber of Ports : 16384\n", /* junk after */
        "Start Port 49152\nNumber of Ports 16384\n",      /* no label colon */
    };
    const char *edge1 = "a: 65535\nb: 1\n", *edge2 = "a: 1025\r\nb: 64511";
    uint16_t start = 7;
    uint32_t count = 7;

    T_EQ_INT(dyn_file("win_netsh_notfound_en.txt", &start, &count), PF_INVALID);
    for (size_t i = 0; i < PF_ARRAY_LEN(bad); i++) {
        enum pf_rc rc = netsh_parse_dynamicport(bad[i], strlen(bad[i]), &start, &count);
        if (rc != PF_INVALID)
            T_FAIL_("case %zu \"%s\": %s", i, bad[i], pf_strerror(rc));
    }
    T_EQ_INT(start, 7); /* untouched on error */
    T_EQ_INT(count, 7);
    /* Edges that are valid: the last port, the lowest start, LF only. */
    T_EQ_INT(netsh_parse_dynamicport(edge1, strlen(edge1), &start, &count), PF_OK);
    T_EQ_INT(start, 65535);
    T_EQ_INT(count, 1);
    T_EQ_INT(netsh_parse_dynamicport(edge2, strlen(edge2), &start, &count), PF_OK);
    T_EQ_INT(start, 1025);
    T_EQ_INT(count, 64511);
}

TEST(dynamicport_too_long)
{
    size_t len = NETSH_OUTPUT_MAX + 1;
    char *big = malloc(len);
    uint16_t start;
    uint32_t count;

    T_ASSERT(big);
    memset(big, ' ', len);
    T_EQ_INT(netsh_parse_dynamicport(big, len, &start, &count), PF_TOOBIG);
    free(big);
}

TEST(excluded_languages)
{
    struct portblock b[8];
    size_t n = 99;

    T_EQ_INT(excl_file("win_netsh_excluded_en.txt", b, 8, &n), PF_OK);
    T_EQ_INT(n, 3);
    T_EQ_INT(b[0].start, 1080);
    T_EQ_INT(b[0].count, 100);
    T_EQ_INT(b[1].start, 5357);
    T_EQ_INT(b[1].count, 1);
    T_EQ_INT(b[2].start, 50000); /* the administered one, marked "*" */
    T_EQ_INT(b[2].count, 60);

    T_EQ_INT(excl_file("win_netsh_excluded_de.txt", b, 8, &n), PF_OK);
    T_EQ_INT(n, 3);
    T_EQ_INT(b[0].start, 2869);
    T_EQ_INT(b[1].start, 49709);
    T_EQ_INT(b[1].count, 100);
    T_EQ_INT(b[2].count, 60);

    T_EQ_INT(excl_file("win_netsh_excluded_ja_utf8.txt", b, 8, &n), PF_OK);
    T_EQ_INT(n, 1);
    T_EQ_INT(b[0].start, 61000);
    T_EQ_INT(b[0].count, 100);

    T_EQ_INT(excl_file("win_netsh_excluded_empty_en.txt", b, 8, &n), PF_OK);
    T_EQ_INT(n, 0);
}

TEST(excluded_rejects)
{
    struct portblock b[2];
    size_t n = 9;
    const char *reversed = "Start End\n----- ---\n  500   400\n";
    const char *three = "a b\n--- ---\n 1 2\n 3 4\n 5 6\n";
    const char *words = "a b\n--- ---\n 100 200 300\n 1x 5\n 7 8\n";

    /* An error message is not an empty table. */
    T_EQ_INT(excl_file("win_netsh_notfound_en.txt", b, 2, &n), PF_INVALID);
    T_EQ_INT(n, 0);
    T_EQ_INT(netsh_parse_excluded(reversed, strlen(reversed), b, 2, &n), PF_INVALID);
    T_EQ_INT(n, 0);
    /* More blocks than room: the first ones are kept. */
    T_EQ_INT(netsh_parse_excluded(three, strlen(three), b, 2, &n), PF_TOOBIG);
    T_EQ_INT(n, 2);
    T_EQ_INT(b[1].start, 3);
    /* Lines with three numbers or a non-number are not blocks. */
    T_EQ_INT(netsh_parse_excluded(words, strlen(words), b, 2, &n), PF_OK);
    T_EQ_INT(n, 1);
    T_EQ_INT(b[0].start, 7);
    T_EQ_INT(b[0].count, 2);
}

TEST(range_valid)
{
    T_ASSERT(netsh_range_valid(49152, 16384));
    T_ASSERT(netsh_range_valid(1, 65535));
    T_ASSERT(!netsh_range_valid(0, 10));
    T_ASSERT(!netsh_range_valid(2, 65535));
    T_ASSERT(!netsh_range_valid(49152, 0));
    T_ASSERT(!netsh_range_valid(70000, 1));
}

int main(void)
{
    RUN(dynamicport_languages);
    RUN(dynamicport_rejects);
    RUN(dynamicport_too_long);
    RUN(excluded_languages);
    RUN(excluded_rejects);
    RUN(range_valid);
    return T_DONE();
}
