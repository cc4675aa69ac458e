# SPDX-License-Identifier: MIT
# cmake -DIN=<unit file> -DOUT=<header> -P unit_template_gen.cmake
# Writes the bytes of IN as `static const char unit_template[]`, NUL-ended.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* generated from deploy/portfleet-agent.service; do not edit */\n"
                  "static const char unit_template[] = {\n${bytes}0x00};\n")
