# ctl: sources and unit tests of src/ctl (see Makefile.am)
