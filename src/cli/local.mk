# cli: sources and unit tests of src/cli (see Makefile.am)
