/* SPDX-License-Identifier: MIT */
/* test_log.c: one record per call, whatever the message holds; levels. */
#include "log.h"
#include "test.h"

static char last[2048];
static int records, last_level;

static void sink(enum pf_log_level level, const char *line, void *ud)
{
    (void)ud;
    snprintf(last, sizeof(last), "%s", line);
    last_level = (int)level;
    records++;
}

TEST(control_chars_cannot_forge_records)
{
    records = 0;
    pf_log(PF_LOG_WARN, "agent said: %s", "evil\n2026-01-01T00:00:00Z error collector: forged\r");
    T_EQ_INT(records, 1);
    T_ASSERT(strchr(last, '\n') == NULL);
    T_ASSERT(strchr(last, '\r') == NULL);
    T_CONTAINS(last, "warn test: agent said: evil?2026");
}

TEST(levels)
{
    records = 0;
    pf_log_set_level(PF_LOG_WARN);
    pf_info("dropped");
    T_EQ_INT(records, 0);
    pf_error("kept");
    T_EQ_INT(records, 1);
    T_EQ_INT(last_level, PF_LOG_ERROR);
    pf_log((enum pf_log_level)42, "out of range");
    T_EQ_INT(last_level, PF_LOG_ERROR);
    T_CONTAINS(last, " error test: out of range");
    T_EQ_INT(pf_log_level_parse("debug"), PF_LOG_DEBUG);
    T_EQ_INT(pf_log_level_parse("error"), PF_LOG_ERROR);
    T_EQ_INT(pf_log_level_parse("loud"), -1);
    T_EQ_INT(pf_log_level_parse(NULL), -1);
    pf_log_set_level(PF_LOG_INFO);
}

int main(void)
{
    pf_log_set_ident("test");
    pf_log_set_stderr(0);
    pf_log_add_sink(sink, NULL);
    RUN(control_chars_cannot_forge_records);
    RUN(levels);
    return T_DONE();
}
