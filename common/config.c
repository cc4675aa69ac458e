/* SPDX-License-Identifier: MIT */
/* config.c: options from the config file, the environment and argv, kept
 * apart per source and resolved on reading (flag > environment > file >
 * default). Pure C11: the caller reads the file and the environment. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SRC_FILE = 0, SRC_ENV, SRC_FLAG, NSRC };

static const char *const src_names[NSRC] = {"config file", "environment", "flag"};

struct vlist {
    char **v;
    size_t n;
};

struct pf_config {
    const struct pf_option_spec *specs;
    size_t nspecs;
    struct vlist *vals; /* nspecs * NSRC, index spec * NSRC + source */
    struct vlist args;  /* positional arguments */
};

/* What went wrong storing one value; the caller words the message, since
 * only it knows the source ("agent.conf:3", "PORTFLEET_SITE", "--site"). */
enum store_err { ST_OK = 0, ST_EMPTY, ST_BOOL, ST_TOOMANY, ST_TOOLONG, ST_NOMEM };

static void vlist_clear(struct vlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static enum store_err vlist_add(struct vlist *l, const char *s, size_t n, size_t max)
{
    char *copy, **grown;

    if (l->n >= max)
        return ST_TOOMANY;
    copy = malloc(n + 1);
    if (!copy)
        return ST_NOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    if (!grown) {
        free(copy);
        return ST_NOMEM;
    }
    l->v = grown;
    l->v[l->n++] = copy;
    return ST_OK;
}

static struct vlist *slot(const struct pf_config *c, size_t spec, int src)
{
    return &c->vals[spec * NSRC + (size_t)src];
}

static void clear_source(struct pf_config *c, int src)
{
    for (size_t i = 0; i < c->nspecs; i++)
        vlist_clear(slot(c, i, src));
}

struct pf_config *pf_config_new(const struct pf_option_spec *specs, size_t nspecs)
{
    struct pf_config *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->specs = specs;
    c->nspecs = nspecs;
    c->vals = calloc(nspecs ? nspecs * NSRC : 1, sizeof(*c->vals));
    if (!c->vals) {
        free(c);
        return NULL;
    }
    return c;
}

void pf_config_free(struct pf_config *c)
{
    if (!c)
        return;
    for (int s = 0; s < NSRC; s++)
        clear_source(c, s);
    vlist_clear(&c->args);
    free(c->vals);
    free(c);
}

/* 1 or 0 for a boolean word, -1 for anything else. */
static int parse_bool(const char *s, size_t n)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < PF_ARRAY_LEN(yes); i++) {
        if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0)
            return 1;
        if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0)
            return 0;
    }
    return -1;
}

/* Index of the option called name (n bytes); in keys from a file '_'
 * matches '-'. -1 when unknown. */
static int find_spec(const struct pf_config *c, const char *name, size_t n, int underscores)
{
    for (size_t i = 0; i < c->nspecs; i++) {
        const char *s = c->specs[i].name;
        size_t k = 0;
        if (strlen(s) != n)
            continue;
        while (k < n && (name[k] == s[k] || (underscores && name[k] == '_' && s[k] == '-')))
            k++;
        if (k == n)
            return (int)i;
    }
    return -1;
}

/* Stores one value of option idx from src: a value option keeps it (the
 * last one only, unless repeatable); a boolean keeps "1" or "0". */
static enum store_err store(struct pf_config *c, size_t idx, int src, const char *v, size_t n)
{
    const struct pf_option_spec *sp = &c->specs[idx];
    struct vlist *l = slot(c, idx, src);
    int b;

    if (n > PF_CONFIG_LINE_MAX)
        return ST_TOOLONG;
    if (!sp->takes_value) {
        if ((b = parse_bool(v, n)) < 0)
            return ST_BOOL;
        v = b ? "1" : "0";
        n = 1;
    } else if (n == 0) {
        return ST_EMPTY;
    }
    if (!sp->takes_value || !sp->repeatable)
        vlist_clear(l);
    return vlist_add(l, v, n, PF_CONFIG_VALUES_MAX);
}

static enum pf_rc fail(char err[PF_CONFIG_ERR_LEN], enum pf_rc rc, const char *fmt, ...)
    PF_PRINTF(3, 4);
static enum pf_rc fail(char err[PF_CONFIG_ERR_LEN], enum pf_rc rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, PF_CONFIG_ERR_LEN, fmt, ap);
    va_end(ap);
    return rc;
}

/* Up to 64 bytes of untrusted text for a message, non-printables as '?'. */
static const char *printable(const char *s, size_t n, char out[72])
{
    size_t i;

    for (i = 0; i < n && i < 64; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (i < n) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static enum pf_rc store_error(enum store_err e, char err[PF_CONFIG_ERR_LEN], const char *where,
                              const char *option)
{
    switch (e) {
    case ST_OK:
        return PF_OK;
    case ST_EMPTY:
        return fail(err, PF_INVALID, "%s: option \"%s\" needs a value", where, option);
    case ST_BOOL:
        return fail(err, PF_INVALID, "%s: option \"%s\" expects true or false", where, option);
    case ST_TOOMANY:
        return fail(err, PF_TOOBIG, "%s: option \"%s\" given more than %d times", where, option,
                    PF_CONFIG_VALUES_MAX);
    case ST_TOOLONG:
        return fail(err, PF_TOOBIG, "%s: option \"%s\": value longer than %d bytes", where, option,
                    PF_CONFIG_LINE_MAX);
    case ST_NOMEM:
        return fail(err, PF_NOMEM, "%s: out of memory", where);
    }
    return fail(err, PF_INTERNAL, "%s: internal error", where);
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

enum pf_rc pf_config_load_file(struct pf_config *c, const char *buf, size_t len, const char *name,
                               char err[PF_CONFIG_ERR_LEN])
{
    size_t i = 0;
    unsigned lineno = 0;
    char shown[72], where[PF_CONFIG_ERR_LEN / 2];
    enum pf_rc rc = PF_OK;

    err[0] = '\0';
    clear_source(c, SRC_FILE);
    if (len > PF_CONFIG_FILE_MAX)
        return fail(err, PF_TOOBIG, "%s: larger than %u bytes", name, PF_CONFIG_FILE_MAX);
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        i = 3; /* a UTF-8 byte order mark, as Windows editors write */
    while (i < len && !rc) {
        const char *line = buf + i, *nl = memchr(line, '\n', len - i), *eq, *key, *val;
        size_t n = nl ? (size_t)(nl - line) : len - i, klen, vlen;
        int idx;

        i += n + 1;
        lineno++;
        snprintf(where, sizeof(where), "%.100s:%u", name, lineno);
        if (n > PF_CONFIG_LINE_MAX) {
            rc = fail(err, PF_TOOBIG, "%s: line longer than %d bytes", where, PF_CONFIG_LINE_MAX);
            break;
        }
        if (memchr(line, '\0', n)) {
            rc = fail(err, PF_INVALID, "%s: NUL byte in line", where);
            break;
        }
        trim(&line, &n);
        if (n == 0 || line[0] == '#' || line[0] == ';')
            continue;
        eq = memchr(line, '=', n);
        if (!eq) {
            rc = fail(err, PF_INVALID, "%s: expected key = value", where);
            break;
        }
        key = line;
        klen = (size_t)(eq - line);
        val = eq + 1;
        vlen = n - klen - 1;
        trim(&key, &klen);
        trim(&val, &vlen);
        if (klen == 0) {
            rc = fail(err, PF_INVALID, "%s: expected key = value", where);
            break;
        }
        idx = find_spec(c, key, klen, 1);
        if (idx < 0) {
            rc = fail(err, PF_INVALID, "%s: unknown option \"%s\"", where,
                      printable(key, klen, shown));
            break;
        }
        if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
            val++;
            vlen -= 2;
        }
        rc =
            store_error(store(c, (size_t)idx, SRC_FILE, val, vlen), err, where, c->specs[idx].name);
    }
    if (rc)
        clear_source(c, SRC_FILE);
    return rc;
}

enum pf_rc pf_config_load_env(struct pf_config *c, pf_config_getenv_fn getenv_fn, void *ud,
                              char err[PF_CONFIG_ERR_LEN])
{
    enum pf_rc rc = PF_OK;

    err[0] = '\0';
    clear_source(c, SRC_ENV);
    for (size_t i = 0; i < c->nspecs && !rc; i++) {
        const struct pf_option_spec *sp = &c->specs[i];
        char var[96];
        const char *v;
        size_t n = 0, len;

        n = (size_t)snprintf(var, sizeof(var), "PORTFLEET_");
        for (const char *p = sp->name; *p && n + 1 < sizeof(var); p++)
            var[n++] = *p == '-' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        var[n] = '\0';
        v = getenv_fn(var, ud);
        if (!v || !*v)
            continue; /* an empty variable counts as unset */
        len = strlen(v);
        if (len > PF_CONFIG_LINE_MAX) {
            rc = fail(err, PF_TOOBIG, "%s: longer than %d bytes", var, PF_CONFIG_LINE_MAX);
            break;
        }
        if (sp->takes_value && sp->repeatable) {
            /* Several values: "https://a:8443, https://b:8443". */
            size_t k = 0;
            while (k < len && !rc) {
                size_t start;
                while (k < len && (v[k] == ',' || is_space(v[k])))
                    k++;
                start = k;
                while (k < len && v[k] != ',' && !is_space(v[k]))
                    k++;
                if (k > start)
                    rc =
                        store_error(store(c, i, SRC_ENV, v + start, k - start), err, var, sp->name);
            }
        } else {
            rc = store_error(store(c, i, SRC_ENV, v, len), err, var, sp->name);
        }
    }
    if (rc)
        clear_source(c, SRC_ENV);
    return rc;
}

enum pf_rc pf_config_parse_args(struct pf_config *c, int argc, char *const *argv,
                                char err[PF_CONFIG_ERR_LEN])
{
    int only_positional = 0;
    enum pf_rc rc = PF_OK;
    char shown[72];

    err[0] = '\0';
    clear_source(c, SRC_FLAG);
    vlist_clear(&c->args);
    for (int i = 0; i < argc && !rc; i++) {
        const char *a = argv[i], *name, *eq, *v;
        size_t nlen;
        int idx;
        enum store_err e;

        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (vlist_add(&c->args, a, strlen(a), (size_t)argc) != ST_OK)
                rc = fail(err, PF_NOMEM, "out of memory");
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (a[1] != '-') {
            rc = fail(err, PF_INVALID, "unknown option %s", printable(a, strlen(a), shown));
            break;
        }
        name = a + 2;
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        idx = find_spec(c, name, nlen, 0);
        if (idx < 0) {
            rc = fail(err, PF_INVALID, "unknown option --%s", printable(name, nlen, shown));
            break;
        }
        if (c->specs[idx].takes_value) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                v = argv[++i];
            else
                v = "";
        } else {
            v = eq ? eq + 1 : "1";
        }
        e = store(c, (size_t)idx, SRC_FLAG, v, strlen(v));
        if (e == ST_EMPTY)
            rc = fail(err, PF_INVALID, "option --%s needs a value", c->specs[idx].name);
        else if (e == ST_BOOL)
            rc = fail(err, PF_INVALID, "option --%s takes no value other than true or false",
                      c->specs[idx].name);
        else if (e == ST_TOOMANY)
            rc = fail(err, PF_TOOBIG, "option --%s given more than %d times", c->specs[idx].name,
                      PF_CONFIG_VALUES_MAX);
        else if (e == ST_TOOLONG)
            rc = fail(err, PF_TOOBIG, "option --%s: value longer than %d bytes", c->specs[idx].name,
                      PF_CONFIG_LINE_MAX);
        else if (e == ST_NOMEM)
            rc = fail(err, PF_NOMEM, "out of memory");
    }
    if (rc) {
        clear_source(c, SRC_FLAG);
        vlist_clear(&c->args);
    }
    return rc;
}

/* The winning source's values of option name: flag, environment, file. */
static const struct vlist *effective(const struct pf_config *c, const char *name, int *idx,
                                     int *src)
{
    *idx = find_spec(c, name, strlen(name), 0);
    if (*idx < 0)
        return NULL;
    for (int s = SRC_FLAG; s >= SRC_FILE; s--) {
        const struct vlist *l = slot(c, (size_t)*idx, s);
        if (l->n) {
            *src = s;
            return l;
        }
    }
    return NULL;
}

const char *pf_config_get(const struct pf_config *c, const char *name)
{
    int idx, src;
    const struct vlist *l = effective(c, name, &idx, &src);

    if (l)
        return l->v[l->n - 1];
    return idx >= 0 ? c->specs[idx].default_value : NULL;
}

size_t pf_config_get_all(const struct pf_config *c, const char *name, const char *const **values)
{
    int idx, src;
    const struct vlist *l = effective(c, name, &idx, &src);

    if (l) {
        *values = (const char *const *)l->v;
        return l->n;
    }
    if (idx >= 0 && c->specs[idx].default_value) {
        *values = &c->specs[idx].default_value;
        return 1;
    }
    *values = NULL;
    return 0;
}

int pf_config_flag(const struct pf_config *c, const char *name)
{
    const char *v = pf_config_get(c, name);

    return v && parse_bool(v, strlen(v)) == 1;
}

const char *pf_config_source(const struct pf_config *c, const char *name)
{
    int idx, src;

    if (effective(c, name, &idx, &src))
        return src_names[src];
    return idx >= 0 && c->specs[idx].default_value ? "default" : NULL;
}

enum pf_rc pf_config_get_uint(const struct pf_config *c, const char *name, uint64_t min,
                              uint64_t max, uint64_t *out, char err[PF_CONFIG_ERR_LEN])
{
    const char *v = pf_config_get(c, name), *src = pf_config_source(c, name);
    uint64_t x = 0;
    char shown[72];
    size_t i = 0;

    err[0] = '\0';
    if (!v)
        return PF_OK;
    for (; v[i] >= '0' && v[i] <= '9'; i++) {
        if (x > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10) {
            x = UINT64_MAX; /* saturate: fails the range check below */
            continue;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (i == 0 || v[i] != '\0' || x < min || x > max)
        return fail(err, PF_INVALID,
                    "option --%s: must be an integer %llu..%llu, not \"%s\" (from %s)", name,
                    (unsigned long long)min, (unsigned long long)max,
                    printable(v, strlen(v), shown), src ? src : "default");
    *out = x;
    return PF_OK;
}

size_t pf_config_args(const struct pf_config *c, const char *const **args)
{
    *args = (const char *const *)c->args.v;
    return c->args.n;
}

enum pf_rc pf_config_usage(const struct pf_option_spec *specs, size_t nspecs, struct pf_buf *out)
{
    enum pf_rc rc = PF_OK;

    for (size_t i = 0; i < nspecs && !rc; i++) {
        const struct pf_option_spec *sp = &specs[i];
        char head[64];
        snprintf(head, sizeof(head), "--%s%s%s", sp->name, sp->takes_value ? " " : "",
                 sp->takes_value ? (sp->arg ? sp->arg : "VALUE") : "");
        rc = pf_buf_printf(
            out, "  %-28s %s%s%s%s%s\n", head, sp->help ? sp->help : "",
            sp->repeatable ? " (repeatable)" : "", sp->default_value ? " (default: " : "",
            sp->default_value ? sp->default_value : "", sp->default_value ? ")" : "");
    }
    return rc;
}
