/* SPDX-License-Identifier: MIT */
/* curlapi.h: the libcurl functions the transport uses, as a table.
 * On Linux (curlapi_linux.c) libcurl is loaded with dlopen the first time
 * the agent talks to a collector: libcurl brings 33 more shared libraries
 * (TLS, Kerberos, LDAP, ...) whose loading alone costs ~30 ms and ~6 MB of
 * RSS, which `portfleet-agent snapshot` never needs. On Windows
 * (curlapi_win.c) curl is linked statically and the table points at it. */
#ifndef PF_CURLAPI_H
#define PF_CURLAPI_H

#include <curl/curl.h>

#include "error.h"

struct curlapi {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
};

/* Returns the table, loading libcurl on first use; NULL (with the reason
 * logged) when libcurl cannot be loaded. The table lives until exit. */
const struct curlapi *curlapi_get(void);

#endif
