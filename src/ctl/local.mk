# src/ctl: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/ctl/libsdctl.a
src_ctl_libsdctl_a_SOURCES = \
	src/ctl/clone.c \
	src/ctl/ctl.c src/ctl/ctl.h \
	src/ctl/deploy.c src/ctl/deploy.h src/ctl/clone-priv.h \
	src/ctl/demo.c \
	src/ctl/engine.c src/ctl/engine.h \
	src/ctl/policy.c src/ctl/policy.h \
	src/ctl/live.c src/ctl/live.h \
	src/ctl/snap.c src/ctl/snap.h \
	src/ctl/task.c src/ctl/task.h \
	src/ctl/view.c src/ctl/view.h \
	src/ctl/vm.c
