/* SPDX-License-Identifier: MIT */
/* castore.h: the certificate authorities the operating system trusts, as
 * a PEM bundle for libcurl (CURLOPT_CAINFO_BLOB). On Windows libcurl runs
 * over mbedTLS, which knows nothing of the Windows certificate stores, so
 * without this a collector with a certificate from a public or enterprise
 * CA that the host trusts would still need --ca-file. On Linux OpenSSL
 * reads the system's bundle itself and castore_load_system is not used.
 *
 * Split as the Windows adapters are: castore_win.c calls the API (the
 * machine's ROOT and CA stores, CertOpenSystemStoreW /
 * CertEnumCertificatesInStore) and describes each certificate as a
 * castore_entry; castore_build, pure, decides which to keep and turns
 * their DER into PEM, so that a test on Linux feeds it a constructed
 * store. */
#ifndef PF_CASTORE_H
#define PF_CASTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* One certificate of a system store, as the API half saw it. */
struct castore_entry {
    const unsigned char *der; /* the encoded certificate */
    size_t len;
    bool disallowed;  /* also in the Disallowed store: never trusted */
    bool expired;     /* NotAfter is in the past (or NotBefore in the future) */
    bool not_for_tls; /* its enhanced key usage leaves out server authentication */
};

struct castore_counts {
    size_t kept, disallowed, expired, not_for_tls, malformed, duplicate;
};

#define CASTORE_MAX_BYTES (8u << 20) /* bundle cap: ~2,500 certificates */

/* Pure: appends the PEM form of one DER certificate ("-----BEGIN
 * CERTIFICATE-----", base64 in lines of 64, "-----END CERTIFICATE-----")
 * to pem. Returns PF_INVALID when der is not one whole DER SEQUENCE,
 * PF_TOOBIG past pem's cap. */
enum pf_rc castore_pem_append(struct pf_buf *pem, const unsigned char *der, size_t len);

/* Pure: the bundle of the n entries worth trusting (not disallowed, not
 * expired, usable for TLS servers, well formed, each once), appended to
 * pem; counts says why the others were left out. Returns PF_OK, or
 * PF_TOOBIG / PF_NOMEM. */
enum pf_rc castore_build(const struct castore_entry *e, size_t n, struct pf_buf *pem,
                         struct castore_counts *counts);

/* Windows: reads the machine's ROOT and CA stores into pem (castore_build)
 * and fills counts. Returns PF_OK (counts->kept may be 0), PF_IO when a
 * store cannot be opened. Elsewhere: PF_UNSUPPORTED. */
enum pf_rc castore_load_system(struct pf_buf *pem, struct castore_counts *counts);

#endif
