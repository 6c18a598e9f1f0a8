# src/cli: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/cli/libsdcli.a
src_cli_libsdcli_a_SOURCES = \
	src/cli/cli.c src/cli/cli.h \
	src/cli/cmd-clone.c \
	src/cli/cmd-deploy.c \
	src/cli/cmd-demo.c \
	src/cli/cmd-policy.c \
	src/cli/cmd-preview.c \
	src/cli/cmd-snapshot.c \
	src/cli/cmd-sync.c \
	src/cli/cmd-vm.c \
	src/cli/op.c \
	src/cli/table.c src/cli/table.h

UNIT_TESTS += tests/unit/test-cli
tests_unit_test_cli_SOURCES = tests/unit/test-cli.c
tests_unit_test_cli_LDADD = $(TEST_ALL_LIBS)
