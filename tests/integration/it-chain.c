/* A 3-layer chain made with qemu-img, in a folder whose name has a space and
 * non-ASCII, is reported by `vm show --json` exactly as
 * `qemu-img info --backing-chain` reports it. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"

static char *tmp, *catalog, name[64];

static void test_chain_matches_qemu_img(void **state)
{
	char dir[512], base[600], mid[600], top[600], xmlpath[600], xml[4096];
	char *out = NULL, *err = NULL;
	json_t *info, *show, *disk, *chain;

	snprintf(dir, sizeof(dir), "%s/my disks ü", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(base, sizeof(base), "%s/base layer.qcow2", dir);
	snprintf(mid, sizeof(mid), "%s/mid.qcow2", dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", dir);
	char *const c1[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=1.1", base,
			     "64M", NULL };
	char *const c2[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2",
			     mid, NULL };
	char *const c3[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2",
			     top, NULL };
	assert_int_equal(sdtest_run(c1, NULL, NULL), 0);
	assert_int_equal(sdtest_run(c2, NULL, NULL), 0);
	assert_int_equal(sdtest_run(c3, NULL, NULL), 0);

	snprintf(xml, sizeof(xml),
		 "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
		 "<os><type arch='x86_64'>hvm</type></os><devices>"
		 "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
		 "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
		 "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>"
		 "</devices></domain>",
		 name, top);
	snprintf(xmlpath, sizeof(xmlpath), "%s/dom.xml", tmp);
	FILE *f = fopen(xmlpath, "w");
	assert_non_null(f);
	fputs(xml, f);
	fclose(f);
	char *const define[] = { "virsh", "-q", "-c", "qemu:///system", "define", xmlpath, NULL };
	assert_int_equal(sdtest_run(define, NULL, NULL), 0);

	char *const qi[] = { "qemu-img", "info", "--output=json", "--backing-chain", top, NULL };
	assert_int_equal(sdtest_run(qi, &out, NULL), 0);
	info = json_loads(out, 0, NULL);
	assert_non_null(info);
	free(out);
	assert_int_equal(json_array_size(info), 3);

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "qemu:///system", "--catalog", catalog,
					 "vm", "show", name, "--json", NULL),
			 0);
	show = json_loads(out, 0, NULL);
	assert_non_null(show);
	free(out);
	free(err);
	/* the cdrom is not a disk of the VM's state */
	assert_int_equal(json_array_size(json_object_get(show, "disks")), 1);
	disk = json_array_get(json_object_get(show, "disks"), 0);
	assert_string_equal(json_string_value(json_object_get(disk, "active")), top);
	chain = json_object_get(disk, "chain");
	assert_int_equal(json_array_size(chain), json_array_size(info));
	for (size_t i = 0; i < json_array_size(info); i++)
		assert_string_equal(
			json_string_value(json_array_get(chain, i)),
			json_string_value(json_object_get(json_array_get(info, i), "filename")));
	assert_string_equal(json_string_value(json_array_get(chain, 2)), base);
	assert_true(json_is_null(json_object_get(show, "current_snapshot")));
	assert_true(json_is_null(json_object_get(show, "in_preview")));
	json_decref(show);

	/* The text face says the same. */
	assert_int_equal(sdtest_snapdeck(&out, NULL, "-c", "qemu:///system", "--catalog", catalog,
					 "vm", "show", name, NULL),
			 0);
	assert_non_null(strstr(out, base));
	assert_non_null(strstr(out, mid));
	free(out);
	json_decref(info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_matches_qemu_img),
	};
	int rc;

	sdtest_require_libvirtd();
	tmp = sdtest_mkdtemp("chain");
	if (asprintf(&catalog, "%s/catalog.db", tmp) < 0)
		abort();
	snprintf(name, sizeof(name), "sdt-chain-%d", (int)getpid());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	char *const undef[] = { "virsh", "-q", "-c", "qemu:///system", "undefine", name, NULL };
	sdtest_run(undef, NULL, NULL);
	sdtest_rm_rf(tmp);
	return rc;
}
