# Integration tests: real libvirtd on qemu:///system, real qcow2 files.
INTEGRATION_TESTS += tests/integration/it-demo tests/integration/it-chain \
	tests/integration/it-bad-input
tests_integration_it_demo_SOURCES = tests/integration/it-demo.c
tests_integration_it_demo_LDADD = $(TEST_LIBS)
tests_integration_it_chain_SOURCES = tests/integration/it-chain.c
tests_integration_it_chain_LDADD = $(TEST_LIBS)
tests_integration_it_bad_input_SOURCES = tests/integration/it-bad-input.c
tests_integration_it_bad_input_LDADD = $(TEST_LIBS)

# Clones, volumes from snapshots, tasks.
INTEGRATION_TESTS += tests/integration/it-clone
tests_integration_it_clone_SOURCES = tests/integration/it-clone.c
tests_integration_it_clone_LDADD = $(TEST_LIBS)

# Deploy from snapshot (full, linked, direct) and templates.
INTEGRATION_TESTS += tests/integration/it-deploy
tests_integration_it_deploy_SOURCES = tests/integration/it-deploy.c
tests_integration_it_deploy_LDADD = $(TEST_LIBS)
