# src/model: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/model/libsdmodel.a
src_model_libsdmodel_a_SOURCES =
