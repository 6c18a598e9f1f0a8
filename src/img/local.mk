# img: sources and unit tests of src/img (see Makefile.am)
