# src/catalog: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/catalog/libsdcatalog.a
src_catalog_libsdcatalog_a_SOURCES = \
	src/catalog/catalog.h src/catalog/priv.h \
	src/catalog/apply.c \
	src/catalog/catalog.c \
	src/catalog/event.c \
	src/catalog/image.c \
	src/catalog/journal.c \
	src/catalog/task.c \
	src/catalog/template.c \
	src/catalog/lock.c \
	src/catalog/migrate.c \
	src/catalog/policy.c \
	src/catalog/state.c \
	src/catalog/vm.c

# The catalog loads model/state.h structs (catalog_vm_state), which the model
# library frees: its tests link src/model/libsdmodel.a after the catalog.
UNIT_TESTS += tests/unit/test-catalog
tests_unit_test_catalog_SOURCES = tests/unit/test-catalog.c
# The test compares a fresh catalog with data/schema.sql in the source tree.
tests_unit_test_catalog_CPPFLAGS = $(AM_CPPFLAGS) -DSD_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_unit_test_catalog_LDADD = src/catalog/libsdcatalog.a src/model/libsdmodel.a \
	src/util/libsdutil.a $(TEST_LIBS)

UNIT_TESTS += tests/unit/test-catalog-engine
tests_unit_test_catalog_engine_SOURCES = tests/unit/test-catalog-engine.c
tests_unit_test_catalog_engine_LDADD = src/catalog/libsdcatalog.a src/model/libsdmodel.a \
	src/util/libsdutil.a $(TEST_LIBS)

UNIT_TESTS += tests/unit/test-catalog-policy
tests_unit_test_catalog_policy_SOURCES = tests/unit/test-catalog-policy.c
tests_unit_test_catalog_policy_LDADD = src/catalog/libsdcatalog.a src/model/libsdmodel.a \
	src/util/libsdutil.a $(TEST_LIBS)
