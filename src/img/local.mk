# src/img: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/img/libsdimg.a
src_img_libsdimg_a_SOURCES = \
	src/img/img.h src/img/img-priv.h \
	src/img/chain-ops.c \
	src/img/convert.c \
	src/img/info.c \
	src/img/qcow2.c \
	src/img/spawn.c \
	src/img/tools.c

UNIT_TESTS += tests/unit/test-img
tests_unit_test_img_SOURCES = tests/unit/test-img.c
tests_unit_test_img_LDADD = src/img/libsdimg.a src/util/libsdutil.a $(TEST_LIBS)
# So that the test finds its fixtures when run by hand from the build tree.
tests_unit_test_img_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSD_TEST_FIXTURES=\"$(abs_top_srcdir)/tests/fixtures\"
