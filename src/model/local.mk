# src/model: pure data and planners, no I/O (see Makefile.am)
noinst_LIBRARIES += src/model/libsdmodel.a
src_model_libsdmodel_a_SOURCES = \
	src/model/plan-clone.c \
	src/model/plan-deploy.c \
	src/model/plan-common.c src/model/plan-priv.h \
	src/model/plan-delete.c \
	src/model/plan-preview.c \
	src/model/plan-snapshot.c \
	src/model/plan.c src/model/plan.h \
	src/model/policy.c src/model/policy.h \
	src/model/state.c src/model/state.h

UNIT_TESTS += tests/unit/test-model
tests_unit_test_model_SOURCES = tests/unit/test-model.c
tests_unit_test_model_LDADD = src/model/libsdmodel.a src/util/libsdutil.a $(TEST_LIBS)

UNIT_TESTS += tests/unit/test-policy
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c
tests_unit_test_policy_LDADD = src/model/libsdmodel.a src/util/libsdutil.a $(TEST_LIBS)

UNIT_TESTS += tests/unit/test-clone
tests_unit_test_clone_SOURCES = tests/unit/test-clone.c
tests_unit_test_clone_LDADD = src/model/libsdmodel.a src/util/libsdutil.a $(TEST_LIBS)

UNIT_TESTS += tests/unit/test-deploy
tests_unit_test_deploy_SOURCES = tests/unit/test-deploy.c
tests_unit_test_deploy_LDADD = src/model/libsdmodel.a src/util/libsdutil.a $(TEST_LIBS)
