# The console's screen tests: snapdeck in a private tmux server, driven by
# keys, against a real libvirtd (so an integration test). The expected
# screens are files in tests/tui/expected; `make regen-screens` rewrites
# them, on purpose only (then review the diff).
INTEGRATION_TESTS += tests/tui/tui-console
tests_tui_tui_console_SOURCES = tests/tui/tui-console.c tests/tui/tuilib.c \
	tests/tui/tuilib.h $(IT_LIB_SOURCES)
tests_tui_tui_console_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSD_SCREENS_DIR='"$(abs_top_srcdir)/tests/tui/expected"'
tests_tui_tui_console_LDADD = $(TEST_LIBS)

regen-screens: src/snapdeck$(EXEEXT) tests/tui/tui-console$(EXEEXT)
	$(AM_TESTS_ENVIRONMENT) SNAPDECK_REGEN_SCREENS=1 ./tests/tui/tui-console
.PHONY: regen-screens
