noinst_LIBRARIES += src/util/libsdutil.a
src_util_libsdutil_a_SOURCES = \
	src/util/auto.h \
	src/util/buf.c src/util/buf.h \
	src/util/conf.c src/util/conf.h \
	src/util/err.c src/util/err.h \
	src/util/i18n.c src/util/i18n.h \
	src/util/log.c src/util/log.h \
	src/util/mem.c src/util/mem.h \
	src/util/str.c src/util/str.h \
	src/util/time.c src/util/time.h \
	src/util/uuid.c src/util/uuid.h

UNIT_TESTS += tests/unit/test-util
tests_unit_test_util_SOURCES = tests/unit/test-util.c
tests_unit_test_util_LDADD = src/util/libsdutil.a $(TEST_LIBS)

UNIT_TESTS += tests/unit/test-conf
tests_unit_test_conf_SOURCES = tests/unit/test-conf.c
# The test parses the example data/snapdeck.conf of the source tree.
tests_unit_test_conf_CPPFLAGS = $(AM_CPPFLAGS) -DSD_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_unit_test_conf_LDADD = src/util/libsdutil.a $(TEST_LIBS)
