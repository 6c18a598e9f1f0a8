# src/tui: the console (ncurses); see Makefile.am
noinst_LIBRARIES += src/tui/libsdtui.a
src_tui_libsdtui_a_CFLAGS = $(AM_CFLAGS) $(NCURSES_CFLAGS)
src_tui_libsdtui_a_SOURCES = \
	src/tui/app.c src/tui/priv.h src/tui/tui.h \
	src/tui/dialog.c \
	src/tui/draw.c \
	src/tui/keymap.c \
	src/tui/list.c \
	src/tui/ops.c \
	src/tui/view-events.c \
	src/tui/view-grid.c \
	src/tui/view-help.c \
	src/tui/view-tasks.c \
	src/tui/view-tree.c \
	src/tui/view-vms.c

UNIT_TESTS += tests/unit/test-tui
tests_unit_test_tui_SOURCES = tests/unit/test-tui.c
tests_unit_test_tui_CFLAGS = $(AM_CFLAGS) $(NCURSES_CFLAGS)
tests_unit_test_tui_LDADD = $(TEST_ALL_LIBS)
