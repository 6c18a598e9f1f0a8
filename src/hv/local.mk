# hv: sources and unit tests of src/hv (see Makefile.am)
