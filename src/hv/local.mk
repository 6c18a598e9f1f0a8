# src/hv: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/hv/libsdhv.a
src_hv_libsdhv_a_SOURCES =
