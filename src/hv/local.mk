# src/hv: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/hv/libsdhv.a
src_hv_libsdhv_a_SOURCES = \
	src/hv/hv.h src/hv/live.h src/hv/priv.h \
	src/hv/clone-xml.c \
	src/hv/conn.c \
	src/hv/domain.c \
	src/hv/domain-xml.c \
	src/hv/events.c \
	src/hv/live.c \
	src/hv/storage.c \
	src/hv/storage-xml.c \
	src/hv/xml.c

UNIT_TESTS += tests/unit/test-hv
tests_unit_test_hv_SOURCES = tests/unit/test-hv.c
tests_unit_test_hv_LDADD = src/hv/libsdhv.a src/util/libsdutil.a $(TEST_LIBS)
# Run by hand, the test still finds its fixtures.
tests_unit_test_hv_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSD_TEST_FIXTURES=\"$(abs_top_srcdir)/tests/fixtures\"
