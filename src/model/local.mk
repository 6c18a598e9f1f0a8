# model: sources and unit tests of src/model (see Makefile.am)
