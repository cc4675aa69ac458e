/* SPDX-License-Identifier: MIT */
/* castore_bundle.c: feeds DER certificate files to castore_build (the pure
 * half of the agent's Windows store reader) as a constructed store and
 * prints the PEM bundle; the counts go to stderr. A file name may carry
 * the flag the Windows half would have set:
 *   castore_bundle [disallowed:|expired:|notls:]FILE.der ...
 * Used by tests/integration/agent_castore.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "castore.h"

#define MAX_FILES 64

int main(int argc, char **argv)
{
    struct castore_entry e[MAX_FILES];
    struct castore_counts n;
    struct pf_buf pem;
    int ne = 0, code = 0;

    memset(e, 0, sizeof(e));
    for (int i = 1; i < argc && ne < MAX_FILES; i++) {
        const char *name = argv[i];
        unsigned char *der;
        FILE *f;
        long len;

        if (strncmp(name, "disallowed:", 11) == 0) {
            e[ne].disallowed = true;
            name += 11;
        } else if (strncmp(name, "expired:", 8) == 0) {
            e[ne].expired = true;
            name += 8;
        } else if (strncmp(name, "notls:", 6) == 0) {
            e[ne].not_for_tls = true;
            name += 6;
        }
        f = fopen(name, "rb");
        if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
            fprintf(stderr, "castore_bundle: cannot read %s\n", name);
            return 2;
        }
        der = malloc((size_t)len + 1);
        if (!der || fread(der, 1, (size_t)len, f) != (size_t)len) {
            fprintf(stderr, "castore_bundle: cannot read %s\n", name);
            return 2;
        }
        fclose(f);
        e[ne].der = der;
        e[ne].len = (size_t)len;
        ne++;
    }
    pf_buf_init(&pem, CASTORE_MAX_BYTES);
    if (castore_build(e, (size_t)ne, &pem, &n) != PF_OK) {
        fprintf(stderr, "castore_bundle: castore_build failed\n");
        code = 1;
    } else if (pem.len && fwrite(pem.data, 1, pem.len, stdout) != pem.len) {
        code = 1;
    }
    fprintf(stderr, "kept %zu disallowed %zu expired %zu not_for_tls %zu malformed %zu duplicate %zu\n",
            n.kept, n.disallowed, n.expired, n.not_for_tls, n.malformed, n.duplicate);
    for (int i = 0; i < ne; i++)
        free((void *)e[i].der);
    pf_buf_free(&pem);
    return code;
}
