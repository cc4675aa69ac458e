/* SPDX-License-Identifier: MIT */
/* castore_win.c: castore.h with CryptoAPI: reads the ROOT and CA system
 * stores (as the account the agent runs as sees them: for LocalSystem
 * that includes the machine's, Group Policy's and the enterprise's
 * certificates), describes each certificate (Disallowed, time validity,
 * enhanced key usage) and hands the list to castore_build. */
#include "castore.h"

#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <wincrypt.h>

#define MAX_CERTS 4096

struct list {
    struct castore_entry *e;
    size_t n;
};

/* False when the certificate's enhanced key usage (extension or
 * properties) leaves out server authentication. */
static bool for_tls(PCCERT_CONTEXT c)
{
    DWORD size = 0;
    PCERT_ENHKEY_USAGE u;
    bool ok = false;

    if (!CertGetEnhancedKeyUsage(c, 0, NULL, &size))
        return GetLastError() == (DWORD)CRYPT_E_NOT_FOUND; /* no restriction */
    u = malloc(size);
    if (!u)
        return true;
    if (CertGetEnhancedKeyUsage(c, 0, u, &size)) {
        if (u->cUsageIdentifier == 0)
            ok = GetLastError() == (DWORD)CRYPT_E_NOT_FOUND; /* 0 listed and found: none */
        for (DWORD i = 0; i < u->cUsageIdentifier && !ok; i++)
            ok = strcmp(u->rgpszUsageIdentifier[i], szOID_PKIX_KP_SERVER_AUTH) == 0;
    }
    free(u);
    return ok;
}

static enum pf_rc read_store(const wchar_t *name, HCERTSTORE disallowed, struct list *l)
{
    HCERTSTORE st = CertOpenSystemStoreW(0, name);
    PCCERT_CONTEXT c = NULL;

    if (!st)
        return PF_IO;
    while ((c = CertEnumCertificatesInStore(st, c)) != NULL && l->n < MAX_CERTS) {
        struct castore_entry *x = &l->e[l->n];
        unsigned char *der;

        if (!(c->dwCertEncodingType & X509_ASN_ENCODING) || c->cbCertEncoded == 0)
            continue;
        der = malloc(c->cbCertEncoded);
        if (!der)
            break;
        memcpy(der, c->pbCertEncoded, c->cbCertEncoded);
        memset(x, 0, sizeof(*x));
        x->der = der;
        x->len = c->cbCertEncoded;
        x->expired = CertVerifyTimeValidity(NULL, c->pCertInfo) != 0;
        x->not_for_tls = !for_tls(c);
        if (disallowed) {
            PCCERT_CONTEXT d = CertFindCertificateInStore(disallowed, X509_ASN_ENCODING, 0,
                                                          CERT_FIND_EXISTING, c, NULL);
            if (d) {
                x->disallowed = true;
                CertFreeCertificateContext(d);
            }
        }
        l->n++;
    }
    if (c)
        CertFreeCertificateContext(c);
    CertCloseStore(st, 0);
    return PF_OK;
}

enum pf_rc castore_load_system(struct pf_buf *pem, struct castore_counts *counts)
{
    struct list l = {calloc(MAX_CERTS, sizeof(struct castore_entry)), 0};
    HCERTSTORE disallowed;
    enum pf_rc rc;

    memset(counts, 0, sizeof(*counts));
    if (!l.e)
        return PF_NOMEM;
    disallowed = CertOpenSystemStoreW(0, L"Disallowed");
    rc = read_store(L"ROOT", disallowed, &l);
    if (!rc && read_store(L"CA", disallowed, &l) != PF_OK) {
        /* intermediates are a help, not a need */
    }
    if (disallowed)
        CertCloseStore(disallowed, 0);
    if (!rc)
        rc = castore_build(l.e, l.n, pem, counts);
    for (size_t i = 0; i < l.n; i++)
        free((void *)l.e[i].der);
    free(l.e);
    return rc;
}
