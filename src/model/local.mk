# src/model: pure data and planners, no I/O (see Makefile.am)
noinst_LIBRARIES += src/model/libsdmodel.a
src_model_libsdmodel_a_SOURCES = \
	src/model/plan-common.c src/model/plan-priv.h \
	src/model/plan-delete.c \
	src/model/plan-preview.c \
	src/model/plan-snapshot.c \
	src/model/plan.c src/model/plan.h \
	src/model/state.c src/model/state.h
