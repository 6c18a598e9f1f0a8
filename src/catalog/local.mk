# src/catalog: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/catalog/libsdcatalog.a
src_catalog_libsdcatalog_a_SOURCES =
