/* SPDX-License-Identifier: MIT */
/* sddl.c: prints the DACL of a file or directory as SDDL, for the Wine
 * test of `portfleet-agent install` (the state directory must admit only
 * SYSTEM and the Administrators, protected from inheritance).
 *   sddl.exe PATH  ->  "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)" */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    LPWSTR text = NULL;
    DWORD e;

    if (argc != 2) {
        fprintf(stderr, "usage: sddl PATH\n");
        return 2;
    }
    e = GetNamedSecurityInfoW(argv[1], SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                              &dacl, NULL, &sd);
    if (e != ERROR_SUCCESS) {
        fprintf(stderr, "sddl: GetNamedSecurityInfoW: error %lu\n", (unsigned long)e);
        return 1;
    }
    if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1,
                                                              DACL_SECURITY_INFORMATION, &text,
                                                              NULL)) {
        fprintf(stderr, "sddl: cannot convert: error %lu\n", (unsigned long)GetLastError());
        LocalFree(sd);
        return 1;
    }
    printf("%ls\n", text);
    LocalFree(text);
    LocalFree(sd);
    return 0;
}
