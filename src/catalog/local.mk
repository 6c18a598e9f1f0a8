# src/catalog: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/catalog/libsdcatalog.a
src_catalog_libsdcatalog_a_SOURCES = \
	src/catalog/catalog.h src/catalog/priv.h \
	src/catalog/catalog.c \
	src/catalog/event.c \
	src/catalog/migrate.c \
	src/catalog/vm.c

UNIT_TESTS += tests/unit/test-catalog
tests_unit_test_catalog_SOURCES = tests/unit/test-catalog.c
# The test compares a fresh catalog with data/schema.sql in the source tree.
tests_unit_test_catalog_CPPFLAGS = $(AM_CPPFLAGS) -DSD_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_unit_test_catalog_LDADD = src/catalog/libsdcatalog.a src/util/libsdutil.a $(TEST_LIBS)
