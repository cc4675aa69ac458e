/* SPDX-License-Identifier: MIT */
/* svcstub.c: a Windows service that does nothing but run until stopped,
 * for the Wine test (wine_test.sh roles). Registered under the names of
 * the services the agent takes roles from (RemoteAccess: rras, WAPCSvc:
 * entra-connector), it makes the agent under Wine take those roles and
 * reach for RRAS's MprAdmin calls and the connector's performance
 * counter, which Wine does not have: the figures must then be listed as
 * unmeasured, never reported as zeros. One process per service
 * (SERVICE_WIN32_OWN_PROCESS), so the dispatcher's name is ignored.
 * Built with -municode (wmain). */
#include <windows.h>

static SERVICE_STATUS_HANDLE handle;
static HANDLE stop;
static SERVICE_STATUS status;

static DWORD WINAPI control(DWORD code, DWORD type, void *data, void *ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    if (code == SERVICE_CONTROL_STOP || code == SERVICE_CONTROL_SHUTDOWN) {
        status.dwCurrentState = SERVICE_STOP_PENDING;
        SetServiceStatus(handle, &status);
        SetEvent(stop);
    }
    return NO_ERROR;
}

static void WINAPI service_main(DWORD argc, wchar_t **argv)
{
    handle = RegisterServiceCtrlHandlerExW(argc > 0 ? argv[0] : L"", control, NULL);
    if (!handle)
        return;
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwControlsAccepted = SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN;
    status.dwCurrentState = SERVICE_RUNNING;
    SetServiceStatus(handle, &status);
    WaitForSingleObject(stop, INFINITE);
    status.dwCurrentState = SERVICE_STOPPED;
    SetServiceStatus(handle, &status);
}

int wmain(void)
{
    wchar_t name[] = L"svcstub";
    SERVICE_TABLE_ENTRYW table[] = {{name, service_main}, {NULL, NULL}};

    stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    return stop && StartServiceCtrlDispatcherW(table) ? 0 : 1;
}
