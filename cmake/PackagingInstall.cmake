# SPDX-License-Identifier: MIT
# PackagingInstall.cmake: runs at install time (install(CODE) of
# Packaging.cmake), where CMAKE_INSTALL_PREFIX is the prefix being
# installed to (--prefix, or /usr under cpack). Installs one component's
# systemd unit, with @BINDIR@ @STATE@ @CONFIG@ @DOCDIR@ filled in for that
# prefix, and its commented config file as <etc>/portfleet/<conf>, where
# <etc> is /etc for prefix /usr (as GNUInstallDirs does) and <prefix>/etc
# otherwise. DESTDIR is honoured by file(INSTALL).
# Input: pf_src (deploy/), pf_work (scratch dir), pf_bindir, pf_datadir,
# pf_package, pf_unit, pf_conf, pf_conf_mode.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(pf_etc /etc/portfleet)
else()
  set(pf_etc ${CMAKE_INSTALL_PREFIX}/etc/portfleet)
endif()
set(BINDIR ${CMAKE_INSTALL_PREFIX}/${pf_bindir})
set(STATE portfleet)
set(CONFIG ${pf_etc}/${pf_conf})
set(DOCDIR ${CMAKE_INSTALL_PREFIX}/${pf_datadir}/doc/${pf_package})
configure_file(${pf_src}/${pf_unit} ${pf_work}/${pf_unit} @ONLY)
file(INSTALL ${pf_work}/${pf_unit} DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
file(INSTALL ${pf_src}/${pf_conf}.sample DESTINATION ${pf_etc} RENAME ${pf_conf}
     PERMISSIONS ${pf_conf_mode})
