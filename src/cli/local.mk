# src/cli: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/cli/libsdcli.a
src_cli_libsdcli_a_SOURCES =
