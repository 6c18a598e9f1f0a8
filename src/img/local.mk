# src/img: sources and unit tests (see Makefile.am)
noinst_LIBRARIES += src/img/libsdimg.a
src_img_libsdimg_a_SOURCES =
