/* SPDX-License-Identifier: MIT */
/* curlapi_win.c: the Windows build links a static libcurl (over mbedTLS),
 * so the table simply points at it. */
#include "curlapi.h"

static const struct curlapi api = {
    curl_global_init,   curl_easy_init,     curl_easy_setopt,
    curl_easy_perform,  curl_easy_getinfo,  curl_easy_cleanup,
    curl_easy_strerror, curl_slist_append,  curl_slist_free_all,
    curl_multi_init,    curl_multi_setopt,  curl_multi_add_handle,
    curl_multi_remove_handle, curl_multi_perform, curl_multi_poll,
    curl_multi_info_read, curl_multi_cleanup, curl_multi_strerror,
};

const struct curlapi *curlapi_get(void)
{
    return &api;
}
