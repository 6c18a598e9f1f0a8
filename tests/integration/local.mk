# Integration tests: real libvirtd on qemu:///system, real qcow2 files.
INTEGRATION_TESTS += tests/integration/it-demo tests/integration/it-chain \
	tests/integration/it-bad-input tests/integration/it-preview \
	tests/integration/it-tree tests/integration/it-crash \
	tests/integration/it-concurrency
tests_integration_it_demo_SOURCES = tests/integration/it-demo.c
tests_integration_it_demo_LDADD = $(TEST_LIBS)
tests_integration_it_chain_SOURCES = tests/integration/it-chain.c
tests_integration_it_chain_LDADD = $(TEST_LIBS)
tests_integration_it_bad_input_SOURCES = tests/integration/it-bad-input.c
tests_integration_it_bad_input_LDADD = $(TEST_LIBS)

# The snapshot engine's tests share helpers (tests/integration/itlib.h).
IT_LIB_SOURCES = tests/integration/itlib.c tests/integration/itlib.h
tests_integration_it_preview_SOURCES = tests/integration/it-preview.c $(IT_LIB_SOURCES)
tests_integration_it_preview_LDADD = $(TEST_LIBS)
tests_integration_it_tree_SOURCES = tests/integration/it-tree.c $(IT_LIB_SOURCES)
tests_integration_it_tree_LDADD = $(TEST_LIBS)
tests_integration_it_crash_SOURCES = tests/integration/it-crash.c $(IT_LIB_SOURCES)
tests_integration_it_crash_LDADD = $(TEST_LIBS)
tests_integration_it_concurrency_SOURCES = tests/integration/it-concurrency.c $(IT_LIB_SOURCES)
tests_integration_it_concurrency_LDADD = $(TEST_LIBS)

# Running VMs: live snapshots, block jobs, memory state, start and stop.
INTEGRATION_TESTS += tests/integration/it-live
tests_integration_it_live_SOURCES = tests/integration/it-live.c $(IT_LIB_SOURCES)
tests_integration_it_live_LDADD = $(TEST_LIBS)

# Recurring snapshot policies: retention, limits, skips (a tmpfs pool).
INTEGRATION_TESTS += tests/integration/it-policy
tests_integration_it_policy_SOURCES = tests/integration/it-policy.c $(IT_LIB_SOURCES)
tests_integration_it_policy_LDADD = $(TEST_LIBS)

# Clones, volumes from snapshots, tasks.
INTEGRATION_TESTS += tests/integration/it-clone
# They share helpers (tests/integration/itclone.h).
IT_CLONE_SOURCES = tests/integration/itclone.c tests/integration/itclone.h
tests_integration_it_clone_SOURCES = tests/integration/it-clone.c $(IT_CLONE_SOURCES)
tests_integration_it_clone_LDADD = $(TEST_LIBS)

# Deploy from snapshot (full, linked, direct) and templates.
INTEGRATION_TESTS += tests/integration/it-deploy
tests_integration_it_deploy_SOURCES = tests/integration/it-deploy.c $(IT_CLONE_SOURCES)
tests_integration_it_deploy_LDADD = $(TEST_LIBS)

# src/hv/live.h against libvirtd: live snapshots, block jobs, restore,
# shutdown, events; a private libvirtd it starts and stops for reconnecting.
INTEGRATION_TESTS += tests/integration/it-hv-live
tests_integration_it_hv_live_SOURCES = tests/integration/it-hv-live.c
tests_integration_it_hv_live_LDADD = src/hv/libsdhv.a src/util/libsdutil.a $(TEST_LIBS)
