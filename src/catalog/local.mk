# catalog: sources and unit tests of src/catalog (see Makefile.am)
