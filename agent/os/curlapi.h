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
    /* the multi interface: a request runs while the agent keeps its
     * schedule (transport.h) */
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *curl);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *curl);
    CURLMcode (*multi_perform)(CURLM *multi, int *running);
    CURLMcode (*multi_poll)(CURLM *multi, struct curl_waitfd *extra, unsigned n, int timeout_ms,
                            int *numfds);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    const char *(*multi_strerror)(CURLMcode code);
};

/* Returns the table, loading libcurl on first use; NULL (with the reason
 * logged) when libcurl cannot be loaded. The table lives until exit. */
const struct curlapi *curlapi_get(void);

#endif
