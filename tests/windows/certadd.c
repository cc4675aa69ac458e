/* SPDX-License-Identifier: MIT */
/* certadd.c: adds a DER certificate to a system certificate store of the
 * local machine, for the Wine test of the agent's trust store reader:
 *   certadd.exe STORE FILE.der     (STORE: ROOT, CA or Disallowed)
 * Prints "added" and exits 0, or says why not and exits 1. */
#include <windows.h>
#include <wincrypt.h>
#include <stdio.h>
#include <stdlib.h>

int wmain(int argc, wchar_t **argv)
{
    HCERTSTORE st;
    unsigned char *der;
    FILE *f;
    long len;

    if (argc != 3) {
        fprintf(stderr, "usage: certadd STORE FILE.der\n");
        return 2;
    }
    f = _wfopen(argv[2], L"rb");
    if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "certadd: cannot read %ls\n", argv[2]);
        return 1;
    }
    der = malloc((size_t)len);
    if (!der || fread(der, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "certadd: cannot read %ls\n", argv[2]);
        return 1;
    }
    fclose(f);
    st = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_LOCAL_MACHINE, argv[1]);
    if (!st) {
        fprintf(stderr, "certadd: cannot open the %ls store: error %lu\n", argv[1],
                (unsigned long)GetLastError());
        return 1;
    }
    if (!CertAddEncodedCertificateToStore(st, X509_ASN_ENCODING, der, (DWORD)len,
                                          CERT_STORE_ADD_REPLACE_EXISTING, NULL)) {
        fprintf(stderr, "certadd: cannot add the certificate: error %lu\n",
                (unsigned long)GetLastError());
        CertCloseStore(st, 0);
        return 1;
    }
    CertCloseStore(st, 0);
    free(der);
    printf("added\n");
    return 0;
}
