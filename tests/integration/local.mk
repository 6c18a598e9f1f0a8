# integration tests (real libvirtd)
