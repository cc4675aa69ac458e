/* SPDX-License-Identifier: MIT */
/* curlapi_linux.c: libcurl loaded on first use (see curlapi.h). The
 * soname is the one Debian's libcurl4 package ships and the .deb depends
 * on; the headers the agent is built with fix the ABI. */
#include "curlapi.h"

#include <dlfcn.h>
#include <string.h>

#include "log.h"

static struct curlapi api;
static int state; /* 0 not tried, 1 loaded, -1 failed */

static int load(void *lib, const char *name, void *field)
{
    void *sym = dlsym(lib, name);

    if (!sym) {
        pf_error("libcurl.so.4 lacks %s", name);
        return -1;
    }
    memcpy(field, &sym, sizeof(sym)); /* object pointer -> function pointer */
    return 0;
}

const struct curlapi *curlapi_get(void)
{
    void *lib;

    if (state)
        return state > 0 ? &api : NULL;
    state = -1;
    lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        pf_error("cannot load libcurl (install libcurl4): %s", dlerror());
        return NULL;
    }
    if (load(lib, "curl_global_init", &api.global_init) ||
        load(lib, "curl_easy_init", &api.easy_init) ||
        load(lib, "curl_easy_setopt", &api.easy_setopt) ||
        load(lib, "curl_easy_perform", &api.easy_perform) ||
        load(lib, "curl_easy_getinfo", &api.easy_getinfo) ||
        load(lib, "curl_easy_cleanup", &api.easy_cleanup) ||
        load(lib, "curl_easy_strerror", &api.easy_strerror) ||
        load(lib, "curl_slist_append", &api.slist_append) ||
        load(lib, "curl_slist_free_all", &api.slist_free_all) ||
        load(lib, "curl_multi_init", &api.multi_init) ||
        load(lib, "curl_multi_setopt", &api.multi_setopt) ||
        load(lib, "curl_multi_add_handle", &api.multi_add_handle) ||
        load(lib, "curl_multi_remove_handle", &api.multi_remove_handle) ||
        load(lib, "curl_multi_perform", &api.multi_perform) ||
        load(lib, "curl_multi_poll", &api.multi_poll) ||
        load(lib, "curl_multi_info_read", &api.multi_info_read) ||
        load(lib, "curl_multi_cleanup", &api.multi_cleanup) ||
        load(lib, "curl_multi_strerror", &api.multi_strerror))
        return NULL; /* keep the library mapped: nothing else to undo */
    state = 1;
    return &api;
}
