# SPDX-License-Identifier: MIT
# mingw-w64-x86_64.cmake: CMake toolchain file for cross-building the Windows
# agent on Debian with gcc-mingw-w64-x86-64 (x86_64-w64-mingw32). Static
# libgcc so the .exe needs no MinGW DLLs on the Windows host (or under Wine).
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#         -DCMAKE_PREFIX_PATH=$PWD/.deps-win/prefix
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(PF_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${PF_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${PF_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${PF_MINGW_TRIPLE}-windres)
set(CMAKE_MC_COMPILER ${PF_MINGW_TRIPLE}-windmc)
set(CMAKE_AR ${PF_MINGW_TRIPLE}-ar CACHE FILEPATH "archiver")
set(CMAKE_RANLIB ${PF_MINGW_TRIPLE}-ranlib CACHE FILEPATH "ranlib")

# Look for headers and libraries only in the MinGW sysroot and in the
# dependency prefix given by CMAKE_PREFIX_PATH, programs only on the host.
set(CMAKE_FIND_ROOT_PATH /usr/${PF_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static")

# Test programs built here run under wine64, not on the build host.
find_program(PF_WINE64 NAMES wine64 wine)
if(PF_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PF_WINE64})
endif()
