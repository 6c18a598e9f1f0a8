/* src/hv: XML parsing and building (pure), and listing against libvirt's
 * in-process test driver (test:///default). Never the real qemu:///system. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"
#include "hv/hv.h"
#include "hv/live.h"
#include "util/auto.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/str.h"

#define TEST_URI "test:///default"
#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

static struct hv_domain *parse_fixture(const char *name)
{
	SD_AUTOFREE char *path = sdtest_fixture(name);
	SD_AUTOFREE char *xml = sdtest_read_file(path);
	struct sd_err err = SD_ERR_INIT;
	struct hv_domain *dom;

	assert_non_null(xml);
	dom = hv_domain_parse(xml, &err);
	if (!dom)
		fail_msg("%s: %s", name, err.msg);
	assert_string_equal(dom->xml, xml);
	return dom;
}

static void check_disk(const struct hv_disk *d, const char *device, const char *source_type,
		       const char *target, const char *bus, const char *driver_type,
		       const char *source)
{
	assert_string_equal(d->device, device);
	assert_string_equal(d->source_type, source_type);
	assert_string_equal(d->target, target);
	if (bus)
		assert_string_equal(d->bus, bus);
	else
		assert_null(d->bus);
	if (driver_type)
		assert_string_equal(d->driver_type, driver_type);
	else
		assert_null(d->driver_type);
	if (source)
		assert_string_equal(d->source, source);
	else
		assert_null(d->source);
}

static void check_nic(const struct hv_nic *n, const char *type, const char *mac, const char *source,
		      const char *model)
{
	assert_string_equal(n->type, type);
#define CHECK_OPT(field, want)                                                                     \
	do {                                                                                       \
		if (want)                                                                          \
			assert_string_equal(field, want);                                          \
		else                                                                               \
			assert_null(field);                                                        \
	} while (0)
	CHECK_OPT(n->mac, mac);
	CHECK_OPT(n->source, source);
	CHECK_OPT(n->model, model);
#undef CHECK_OPT
}

/* ---- parsing: fixtures saved from the real libvirtd ---- */

static void test_parse_real_inactive(void **state)
{
	SD_AUTO(hv_domain) *dom = parse_fixture("domain-real-inactive.xml");

	assert_string_equal(dom->name, "sdhv-fixture");
	assert_string_equal(dom->uuid, "40ec4580-7485-4dad-b725-128588ce8c73");
	assert_int_equal(dom->state, HV_STATE_NOSTATE);
	assert_false(dom->persistent);
	assert_int_equal(dom->vcpus, 2);
	assert_int_equal(dom->memory_kib, 262144);
	assert_int_equal(dom->ndisks, 2);
	check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2",
		   "/tmp/hvscratch/root.qcow2");
	check_disk(&dom->disks[1], "disk", "file", "vdb", "virtio", "qcow2",
		   "/tmp/hvscratch/data disk ü.qcow2");
	assert_false(dom->disks[0].readonly);
	assert_false(dom->disks[0].shareable);
	assert_int_equal(dom->nnics, 0);
	assert_string_equal(dom->description, "demo <b>&\"'</b> ü");
}

/* The live XML shows each disk's backing chain with nested <source>
 * elements: the disk's source is its own, never a backing file's. */
static void test_parse_real_running(void **state)
{
	SD_AUTO(hv_domain) *dom = parse_fixture("domain-real-running.xml");

	assert_string_equal(dom->name, "sdhv-fixture");
	assert_int_equal(dom->ndisks, 2);
	check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2",
		   "/tmp/hvscratch/root.qcow2");
	check_disk(&dom->disks[1], "disk", "file", "vdb", "virtio", "qcow2",
		   "/tmp/hvscratch/data disk ü.qcow2");
	assert_int_equal(dom->nnics, 0);
}

static void test_parse_real_devices(void **state)
{
	SD_AUTO(hv_domain) *dom = parse_fixture("domain-real-devices.xml");
	const struct hv_disk *d;

	assert_string_equal(dom->name, "sdhv-devices");
	assert_int_equal(dom->vcpus, 3);
	assert_int_equal(dom->memory_kib, 1048576);
	assert_int_equal(dom->ndisks, 6);
	check_disk(&dom->disks[0], "disk", "file", "sda", "sata", "raw",
		   "/tmp/hvscratch/raw disk.img");
	/* empty cdrom */
	d = &dom->disks[1];
	check_disk(d, "cdrom", "file", "hdc", "ide", "raw", NULL);
	assert_true(d->readonly);
	/* cdrom with an iso */
	d = &dom->disks[2];
	check_disk(d, "cdrom", "file", "hdd", "ide", "raw", "/tmp/hvscratch/cd.iso");
	assert_true(d->readonly);
	d = &dom->disks[3];
	check_disk(d, "disk", "network", "vdc", "virtio", "raw", "nbd:export1");
	assert_string_equal(d->source_protocol, "nbd");
	d = &dom->disks[4];
	check_disk(d, "disk", "block", "vdd", "virtio", "raw", "/dev/null");
	assert_true(d->shareable);
	assert_false(d->readonly);
	d = &dom->disks[5];
	check_disk(d, "disk", "volume", "vde", "virtio", "qcow2", NULL);
	assert_string_equal(d->source_pool, "sdhv-pool");
	assert_string_equal(d->source_volume, "vol1.qcow2");
	assert_null(d->source_protocol);

	assert_int_equal(dom->nnics, 3);
	check_nic(&dom->nics[0], "network", "52:54:00:12:34:56", "default", "virtio");
	check_nic(&dom->nics[1], "bridge", "52:54:00:ab:cd:ef", "br0", "e1000");
	check_nic(&dom->nics[2], "user", "52:54:00:00:00:01", NULL, "rtl8139");
}

/* ---- parsing: hand-written odd cases ---- */

static void test_parse_nodisks(void **state)
{
	SD_AUTO(hv_domain) *dom = parse_fixture("domain-nodisks.xml");

	assert_string_equal(dom->name, "no-disks");
	assert_string_equal(dom->uuid, TEST_UUID);
	assert_int_equal(dom->memory_kib, 2 * 1024 * 1024);
	assert_int_equal(dom->vcpus, 4);
	assert_int_equal(dom->ndisks, 0);
	assert_null(dom->disks);
	assert_int_equal(dom->nnics, 0);
	assert_null(dom->description);
}

static void test_parse_odd(void **state)
{
	SD_AUTO(hv_domain) *dom = parse_fixture("domain-odd.xml");
	const struct hv_disk *d;

	assert_string_equal(dom->name, "odd & \"quoted\" <vm> ü");
	assert_string_equal(dom->uuid, "0e6b2a52-1c4d-4f0e-9b6a-3f6f0c0d9e11");
	assert_int_equal(dom->memory_kib, 3 * 1024);
	assert_int_equal(dom->vcpus, 2);
	assert_int_equal(dom->ndisks, 6);
	check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2",
		   "/var/lib/libvirt/images/my disk ü.qcow2");
	d = &dom->disks[1];
	check_disk(d, "disk", "file", "vdb", "virtio", "qcow2", "/images/a&b \"q\" <x> 日.qcow2");
	assert_true(d->readonly);
	assert_true(d->shareable);
	d = &dom->disks[2];
	check_disk(d, "disk", "network", "vdc", "virtio", "raw", "rbd:rbdpool/image-1");
	assert_string_equal(d->source_protocol, "rbd");
	d = &dom->disks[3];
	check_disk(d, "disk", "network", "vdd", "virtio", "raw", "nbd://nbd.example.org:10809");
	assert_string_equal(d->source_protocol, "nbd");
	/* no type, no device, no driver, no bus: libvirt's defaults */
	check_disk(&dom->disks[4], "disk", "file", "vde", NULL, NULL, "/images/defaults.img");
	check_disk(&dom->disks[5], "cdrom", "file", "sda", "sata", NULL, NULL);
	assert_true(dom->disks[5].readonly);
	assert_int_equal(dom->nnics, 1);
	check_nic(&dom->nics[0], "direct", NULL, "eth0", NULL);
}

static void test_parse_memory_units(void **state)
{
	/* clang-format off */
	static const struct {
		const char *unit;
		const char *value;
		uint64_t kib;
	} cases[] = {
		{NULL, "1024", 1024},
		{"KiB", "7", 7},
		{"k", "7", 7},
		{"KB", "1024", 1000},
		{"b", "1024", 1},
		{"bytes", "1025", 2}, /* rounded up like libvirt */
		{"MiB", "5", 5 * 1024},
		{"M", "5", 5 * 1024},
		{"MB", "1", 977},
		{"GiB", "2", 2 * 1024 * 1024},
		{"G", "3", 3 * 1024 * 1024},
		{"GB", "1", 976563},
		{"TiB", "1", 1024ULL * 1024 * 1024},
		{"t", "1", 1024ULL * 1024 * 1024},
	};
	/* clang-format on */

	for (size_t i = 0; i < SD_N_ELEMENTS(cases); i++) {
		struct sd_err err = SD_ERR_INIT;
		SD_AUTOFREE char *xml = NULL;
		SD_AUTO(hv_domain) *dom = NULL;

		if (cases[i].unit)
			xml = sd_asprintf("<domain><name>m</name><memory unit='%s'>%s</memory>"
					  "</domain>",
					  cases[i].unit, cases[i].value);
		else
			xml = sd_asprintf("<domain><name>m</name><memory>%s</memory></domain>",
					  cases[i].value);
		dom = hv_domain_parse(xml, &err);
		if (!dom)
			fail_msg("%s: %s", xml, err.msg);
		if (dom->memory_kib != cases[i].kib)
			fail_msg("%s: %llu KiB", xml, (unsigned long long)dom->memory_kib);
		assert_int_equal(dom->vcpus, 1); /* no <vcpu>: 1 */
		assert_string_equal(dom->uuid, "");
	}
}

static void expect_invalid(const char *xml, const char *needle)
{
	struct sd_err err = SD_ERR_INIT;
	struct hv_domain *dom = hv_domain_parse(xml, &err);

	if (dom)
		fail_msg("parsed: %s", xml ? xml : "(null)");
	assert_int_equal(err.code, SD_ERR_INVALID);
	assert_null(strchr(err.msg, '\n'));
	if (!strstr(err.msg, "invalid domain XML") || (needle && !strstr(err.msg, needle)))
		fail_msg("unexpected message: %s", err.msg);
}

static void test_parse_invalid(void **state)
{
	expect_invalid(NULL, NULL);
	expect_invalid("", NULL);
	expect_invalid("<domain><name>x</name>", "line");
	expect_invalid("<pool><name>x</name></pool>", "<pool>");
	expect_invalid("<domain><uuid>x</uuid></domain>", "name");
	expect_invalid("<domain><name>x</name><memory unit='parsecs'>1</memory></domain>",
		       "memory");
	expect_invalid("<domain><name>x</name><memory>-1</memory></domain>", "memory");
	expect_invalid("<domain><name>x</name><memory unit='EiB'>99</memory></domain>", "memory");
	expect_invalid("<domain><name>x</name><vcpu>two</vcpu></domain>", "vCPU");
	expect_invalid("<domain><name>x</name><uuid>1234</uuid></domain>", "UUID");
	/* entities are never expanded: no billion laughs, no reading files */
	expect_invalid("<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaaaaaa'>"
		       "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
		       "<domain><name>&b;</name></domain>",
		       "DOCTYPE");
	expect_invalid("<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM "
		       "'file:///etc/passwd'>]><domain><name>&x;</name></domain>",
		       "DOCTYPE");
	expect_invalid("<domain><name>&undefined;</name></domain>", NULL);
}

/* ---- building ---- */

static void test_build_roundtrip(void **state)
{
	const char *hostile = "it's a \"<vm>\" & ü </name><name>x";
	struct hv_domain_spec spec = {
	    .name = hostile,
	    .uuid = "0e6b2a52-1c4d-4f0e-9b6a-3f6f0c0d9e11",
	    .type = "qemu",
	    .vcpus = 3,
	    .memory_kib = 524288,
	    .description = "made by <b>tests</b> & \"friends\" ]]> ü",
	    .ndisks = 2,
	};
	SD_AUTOFREE char *xml = NULL;
	SD_AUTO(hv_domain) *dom = NULL;
	struct sd_err err = SD_ERR_INIT;

	spec.disks[0].target = "vda";
	spec.disks[0].path = "/var/lib/libvirt/images/my disk ü.qcow2";
	spec.disks[0].format = "qcow2";
	spec.disks[1].target = "vdb";
	spec.disks[1].path = "/images/it's \"raw\" & <odd>.img";
	spec.disks[1].format = "raw";
	xml = hv_domain_xml_build(&spec);
	assert_non_null(xml);
	assert_null(strstr(xml, "<vm>"));
	assert_null(strstr(xml, "<b>"));
	assert_non_null(strstr(xml, "<type arch=\"x86_64\" machine=\"pc\">hvm</type>"));
	assert_non_null(strstr(xml, "<memory unit=\"KiB\">524288</memory>"));
	assert_non_null(strstr(xml, "ü")); /* UTF-8, not a character reference */
	assert_null(strstr(xml, "<interface"));
	dom = hv_domain_parse(xml, &err);
	if (!dom)
		fail_msg("%s\n%s", err.msg, xml);
	assert_string_equal(dom->name, hostile);
	assert_string_equal(dom->uuid, spec.uuid);
	assert_string_equal(dom->description, spec.description);
	assert_int_equal(dom->vcpus, 3);
	assert_int_equal(dom->memory_kib, 524288);
	assert_int_equal(dom->ndisks, 2);
	for (size_t i = 0; i < 2; i++)
		check_disk(&dom->disks[i], "disk", "file", spec.disks[i].target, "virtio",
			   spec.disks[i].format, spec.disks[i].path);
	assert_int_equal(dom->nnics, 0);
}

static void test_build_defaults(void **state)
{
	struct hv_domain_spec spec = {.name = "plain", .memory_kib = 1024};
	SD_AUTOFREE char *xml = hv_domain_xml_build(&spec);
	SD_AUTOFREE char *want = sd_asprintf("<domain type=\"%s\">", hv_domain_type_default());
	SD_AUTO(hv_domain) *dom = NULL;
	struct sd_err err = SD_ERR_INIT;

	assert_true(strcmp(hv_domain_type_default(), "kvm") == 0 ||
		    strcmp(hv_domain_type_default(), "qemu") == 0);
	assert_true(strncmp(xml, want, strlen(want)) == 0);
	assert_null(strstr(xml, "<uuid>"));
	assert_null(strstr(xml, "<description>"));
	dom = hv_domain_parse(xml, &err);
	assert_non_null(dom);
	assert_int_equal(dom->vcpus, 1);
	assert_int_equal(dom->ndisks, 0);
	assert_null(dom->description);
}

/* ---- editing a definition's disks ---- */

static char *read_fixture(const char *name)
{
	SD_AUTOFREE char *path = sdtest_fixture(name);
	char *xml = sdtest_read_file(path);

	if (!xml)
		fail_msg("cannot read fixture %s", path);
	return xml;
}

/* hv_domain_xml_edit that must work; the result is parsed back. */
static struct hv_domain *edit_ok(const char *xml, const char *name, const char *uuid,
				 const struct hv_disk_source *sources, size_t nsources,
				 const char *const *remove, size_t nremove,
				 const struct hv_disk_import *imports, size_t nimports, char **out)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *edited = hv_domain_xml_edit(xml, name, uuid, sources, nsources, remove,
						      nremove, imports, nimports, &err);
	struct hv_domain *dom;

	if (!edited)
		fail_msg("edit failed: %s", err.msg);
	assert_false(sd_err_is_set(&err));
	assert_true(strncmp(edited, "<?xml", 5) != 0); /* no declaration */
	dom = hv_domain_parse(edited, &err);
	if (!dom)
		fail_msg("%s\n%s", err.msg, edited);
	if (out)
		*out = SD_STEAL(edited);
	return dom;
}

static void edit_fails(const char *xml, const struct hv_disk_source *sources, size_t nsources,
		       const char *const *remove, size_t nremove,
		       const struct hv_disk_import *imports, size_t nimports, const char *msg)
{
	struct sd_err err = SD_ERR_INIT;
	char *edited = hv_domain_xml_edit(xml, NULL, NULL, sources, nsources, remove, nremove,
					  imports, nimports, &err);

	if (edited)
		fail_msg("edited:\n%s", edited);
	assert_int_equal(err.code, SD_ERR_INVALID);
	assert_null(strchr(err.msg, '\n'));
	if (!strstr(err.msg, msg))
		fail_msg("unexpected message: %s", err.msg);
}

/* The text from the first "<disk " to the end of the last "</disk>" cut
 * out: what must stay the same when only disks change. */
static char *without_disks(const char *xml)
{
	const char *first = strstr(xml, "<disk ");
	const char *last = NULL;

	assert_non_null(first);
	for (const char *p = strstr(xml, "</disk>"); p; p = strstr(p + 1, "</disk>"))
		last = p + strlen("</disk>");
	assert_non_null(last);
	return sd_asprintf("%.*s%s", (int)(first - xml), xml, last);
}

static void check_sources_applied(const char *fixture)
{
	SD_AUTOFREE char *xml = read_fixture(fixture);
	SD_AUTOFREE char *same = NULL;
	SD_AUTOFREE char *edited = NULL;
	SD_AUTOFREE char *rest_same = NULL;
	SD_AUTOFREE char *rest_edited = NULL;
	const struct hv_disk_source sources[] = {
	    {"vdb", "/var/lib/snapdeck/data-2.raw", "raw"},
	    {"vda", "/var/lib/snapdeck/root-2.qcow2", "qcow2"},
	};
	SD_AUTO(hv_domain) *orig = hv_domain_parse(xml, NULL);
	SD_AUTO(hv_domain) *unchanged = edit_ok(xml, NULL, NULL, NULL, 0, NULL, 0, NULL, 0, &same);
	SD_AUTO(hv_domain) *dom =
	    edit_ok(xml, NULL, NULL, sources, SD_N_ELEMENTS(sources), NULL, 0, NULL, 0, &edited);

	assert_non_null(orig);
	/* nothing asked, nothing changed (but the quoting style) */
	assert_string_equal(unchanged->name, orig->name);
	assert_int_equal(unchanged->ndisks, 2);
	assert_string_equal(unchanged->disks[0].source, orig->disks[0].source);
	assert_string_equal(unchanged->disks[1].source, orig->disks[1].source);

	assert_string_equal(dom->name, "sdhv-fixture");
	assert_string_equal(dom->uuid, "40ec4580-7485-4dad-b725-128588ce8c73");
	assert_string_equal(dom->description, orig->description);
	assert_int_equal(dom->ndisks, 2);
	check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2", sources[1].path);
	check_disk(&dom->disks[1], "disk", "file", "vdb", "virtio", "raw", sources[0].path);
	assert_null(strstr(edited, "backingStore"));
	assert_null(strstr(edited, "hvscratch")); /* nor any backing file */
	assert_null(strstr(edited, "index=\"2\""));
	assert_non_null(strstr(edited, "<driver name=\"qemu\" type=\"raw\"/>"));
	/* the rest of the definition, other devices included, is untouched */
	rest_same = without_disks(same);
	rest_edited = without_disks(edited);
	assert_string_equal(rest_edited, rest_same);
	assert_non_null(strstr(rest_edited, "<serial type=\"pty\">"));
	assert_non_null(strstr(rest_edited, "<address type=\"pci\" domain=\"0x0000\" bus=\"0x00\" "
					    "slot=\"0x01\" function=\"0x2\"/>"));
	/* the disks keep their addresses */
	assert_non_null(strstr(edited, "slot=\"0x02\""));
	assert_non_null(strstr(edited, "slot=\"0x03\""));
}

static void test_edit_sources_real(void **state)
{
	check_sources_applied("domain-real-inactive.xml");
	check_sources_applied("domain-real-running.xml");
}

/* Any kind of disk becomes a plain file; the disk's other children stay. */
static void test_edit_sources_kinds(void **state)
{
	const char *xml = "<domain type='kvm'><name>k</name><devices>"
			  "<disk type='network' device='disk'>"
			  "<driver name='qemu' type='raw' cache='writeback'/>"
			  "<source protocol='rbd' name='pool/img'><host name='mon1' port='6789'/>"
			  "<snapshot name='s1'/></source>"
			  "<backingStore type='file'><format type='raw'/><source file='/b'/>"
			  "<backingStore type='file'><format type='raw'/><source file='/c'/>"
			  "<backingStore/></backingStore></backingStore>"
			  "<target dev='vda' bus='virtio'/><serial>S/N 1</serial></disk>"
			  "<disk device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
			  "<disk type='volume'><driver type='qcow2'/>"
			  "<source pool='p' volume='v.qcow2'/><target dev='vdb'/></disk>"
			  "</devices></domain>";
	const struct hv_disk_source sources[] = {
	    {"vda", "/new/vda.qcow2", "qcow2"},
	    {"hdc", "/isos/new.iso", "raw"},
	    {"vdb", "/new/vdb.qcow2", "qcow2"},
	};
	SD_AUTOFREE char *out = NULL;
	SD_AUTO(hv_domain) *dom =
	    edit_ok(xml, NULL, NULL, sources, SD_N_ELEMENTS(sources), NULL, 0, NULL, 0, &out);

	assert_int_equal(dom->ndisks, 3);
	check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2", "/new/vda.qcow2");
	assert_null(dom->disks[0].source_protocol);
	check_disk(&dom->disks[1], "cdrom", "file", "hdc", "ide", "raw", "/isos/new.iso");
	assert_true(dom->disks[1].readonly);
	check_disk(&dom->disks[2], "disk", "file", "vdb", NULL, "qcow2", "/new/vdb.qcow2");
	assert_null(dom->disks[2].source_pool);
	assert_null(strstr(out, "backingStore"));
	assert_null(strstr(out, "<host"));
	assert_null(strstr(out, "<snapshot"));
	assert_null(strstr(out, "protocol"));
	assert_null(strstr(out, "pool="));
	/* other driver attributes kept; name='qemu' kept or added */
	assert_non_null(strstr(out, "<driver name=\"qemu\" type=\"qcow2\" cache=\"writeback\"/>"));
	assert_non_null(strstr(out, "<driver type=\"qcow2\" name=\"qemu\"/>"));
	assert_non_null(strstr(out, "<driver name=\"qemu\" type=\"raw\"/>"));
	assert_non_null(strstr(out, "<serial>S/N 1</serial>"));
}

static void test_edit_remove(void **state)
{
	SD_AUTOFREE char *xml = read_fixture("domain-real-running.xml");
	const char *const remove_vdb[] = {"vdb", "vdz" /* absent: fine */};
	const char *const remove_all[] = {"vda", "vdb"};
	const struct hv_disk_source vdb = {"vdb", "/x/vdb.qcow2", "qcow2"};
	const struct hv_disk_source vda = {"vda", "/x/vda.qcow2", "qcow2"};
	SD_AUTOFREE char *out = NULL;

	{
		SD_AUTO(hv_domain) *dom = edit_ok(xml, NULL, NULL, &vda, 1, remove_vdb,
						  SD_N_ELEMENTS(remove_vdb), NULL, 0, &out);

		assert_int_equal(dom->ndisks, 1);
		check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2",
			   "/x/vda.qcow2");
		assert_null(strstr(out, "virtio-disk1"));
		assert_non_null(strstr(out, "<memballoon model=\"none\"/>"));
		/* no blank line left where the disk was */
		assert_null(strstr(out, "\n\n"));
	}
	{
		SD_AUTO(hv_domain) *dom = edit_ok(xml, NULL, NULL, NULL, 0, remove_all,
						  SD_N_ELEMENTS(remove_all), NULL, 0, NULL);

		assert_int_equal(dom->ndisks, 0);
		assert_int_equal(strcmp(dom->name, "sdhv-fixture"), 0);
	}
	/* a disk both removed and given a source */
	edit_fails(xml, &vdb, 1, remove_vdb, 1, NULL, 0, "no disk vdb in the configuration");
}

static void test_edit_import(void **state)
{
	SD_AUTOFREE char *inactive = read_fixture("domain-real-inactive.xml");
	SD_AUTOFREE char *running = read_fixture("domain-real-running.xml");
	SD_AUTOFREE char *nodisks = read_fixture("domain-nodisks.xml");
	SD_AUTOFREE char *snap = NULL;
	SD_AUTOFREE char *other = NULL;
	SD_AUTOFREE char *out = NULL;
	struct sd_err err = SD_ERR_INIT;
	const struct hv_disk_source old_vdb = {"vdb", "/snap/old vdb.img", "raw"};
	struct hv_domain_spec spec = {.name = "snap", .type = "qemu", .memory_kib = 1024};

	/* the snapshot's configuration: vdb was a raw file then */
	snap = hv_domain_xml_edit(inactive, NULL, NULL, &old_vdb, 1, NULL, 0, NULL, 0, &err);
	assert_non_null(snap);
	spec.ndisks = 2;
	spec.disks[0].target = "vda";
	spec.disks[0].path = "/other/vda.qcow2";
	spec.disks[0].format = "qcow2";
	spec.disks[1].target = "vdc";
	spec.disks[1].path = "/other/vdc & co.qcow2";
	spec.disks[1].format = "qcow2";
	other = hv_domain_xml_build(&spec);

	/* replace: the disk comes back as it was, in its place */
	{
		const struct hv_disk_import imp = {"vdb", snap};
		SD_AUTO(hv_domain) *dom =
		    edit_ok(running, NULL, NULL, NULL, 0, NULL, 0, &imp, 1, &out);

		assert_int_equal(dom->ndisks, 2);
		check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2",
			   "/tmp/hvscratch/root.qcow2");
		check_disk(&dom->disks[1], "disk", "file", "vdb", "virtio", "raw",
			   "/snap/old vdb.img");
		assert_null(strstr(out, "virtio-disk1")); /* the old vdb is gone */
		assert_non_null(strstr(out, "virtio-disk0"));
		free(SD_STEAL(out));
	}
	/* append: after the last disk, before the other devices */
	{
		const struct hv_disk_import imp = {"vdc", other};
		SD_AUTO(hv_domain) *dom =
		    edit_ok(inactive, NULL, NULL, NULL, 0, NULL, 0, &imp, 1, &out);
		const char *vdc = strstr(out, "<target dev=\"vdc\"");

		assert_int_equal(dom->ndisks, 3);
		check_disk(&dom->disks[0], "disk", "file", "vda", "virtio", "qcow2",
			   "/tmp/hvscratch/root.qcow2");
		check_disk(&dom->disks[2], "disk", "file", "vdc", "virtio", "qcow2",
			   "/other/vdc & co.qcow2");
		assert_non_null(vdc);
		assert_true(vdc > strstr(out, "<target dev=\"vdb\""));
		assert_true(vdc < strstr(out, "<controller"));
		assert_non_null(strstr(out,
				       "    </disk>\n    <disk type=\"file\" device=\"disk\">\n"
				       "      <driver name=\"qemu\" type=\"qcow2\"/>\n"
				       "      <source file=\"/other/vdc &amp; co.qcow2\"/>"));
		free(SD_STEAL(out));
	}
	/* imports first, then the sources: an imported disk can get a new one */
	{
		const struct hv_disk_import imps[] = {{"vdc", other}, {"vdb", snap}};
		const struct hv_disk_source src = {"vdc", "/new/vdc.qcow2", "qcow2"};
		const char *const rm[] = {"vda"};
		SD_AUTO(hv_domain) *dom =
		    edit_ok(running, NULL, NULL, &src, 1, rm, 1, imps, 2, NULL);

		assert_int_equal(dom->ndisks, 2);
		check_disk(&dom->disks[0], "disk", "file", "vdb", "virtio", "raw",
			   "/snap/old vdb.img");
		check_disk(&dom->disks[1], "disk", "file", "vdc", "virtio", "qcow2",
			   "/new/vdc.qcow2");
	}
	/* into a definition without disks or emulator */
	{
		const struct hv_disk_import imp = {"vdc", other};
		SD_AUTO(hv_domain) *dom =
		    edit_ok(nodisks, NULL, NULL, NULL, 0, NULL, 0, &imp, 1, NULL);

		assert_int_equal(dom->ndisks, 1);
		check_disk(&dom->disks[0], "disk", "file", "vdc", "virtio", "qcow2",
			   "/other/vdc & co.qcow2");
	}
	/* into one without <devices> at all */
	{
		const struct hv_disk_import imp = {"vda", other};
		SD_AUTO(hv_domain) *dom = edit_ok("<domain><name>bare</name></domain>", NULL, NULL,
						  NULL, 0, NULL, 0, &imp, 1, NULL);

		assert_int_equal(dom->ndisks, 1);
		assert_string_equal(dom->disks[0].source, "/other/vda.qcow2");
	}
	/* the disk is not in the XML it should come from */
	{
		const struct hv_disk_import imp = {"vdb", other};

		edit_fails(inactive, NULL, 0, NULL, 0, &imp, 1, "no disk vdb in the configuration");
	}
	/* imported, then removed: absent in the end */
	{
		const struct hv_disk_import imp = {"vdc", other};
		const char *const rm[] = {"vdc"};

		edit_fails(inactive, NULL, 0, rm, 1, &imp, 1, "no disk vdc in the configuration");
	}
	/* bad XML to import from */
	{
		const struct hv_disk_import imp = {"vdc", "<domain><name>x</name>"};

		edit_fails(inactive, NULL, 0, NULL, 0, &imp, 1, "invalid domain XML");
	}
}

static void test_edit_name_uuid(void **state)
{
	SD_AUTOFREE char *xml = read_fixture("domain-real-inactive.xml");
	const char *hostile = "it's a \"<vm>\" & ü </name><name>x &amp;";
	struct sd_err err = SD_ERR_INIT;

	{
		SD_AUTO(hv_domain) *dom = edit_ok(xml, hostile, "0E6B2A521C4D4F0E9B6A3F6F0C0D9E11",
						  NULL, 0, NULL, 0, NULL, 0, NULL);

		assert_string_equal(dom->name, hostile);
		assert_string_equal(dom->uuid, "0e6b2a52-1c4d-4f0e-9b6a-3f6f0c0d9e11");
		assert_int_equal(dom->ndisks, 2);
		assert_string_equal(dom->description, "demo <b>&\"'</b> ü");
	}
	{
		SD_AUTO(hv_domain) *dom =
		    edit_ok(xml, "renamed", NULL, NULL, 0, NULL, 0, NULL, 0, NULL);

		assert_string_equal(dom->name, "renamed");
		assert_string_equal(dom->uuid, "40ec4580-7485-4dad-b725-128588ce8c73");
	}
	/* a definition without a UUID gets one */
	{
		SD_AUTOFREE char *out = NULL;
		SD_AUTO(hv_domain) *dom = edit_ok(
		    "<domain>\n  <name>m</name>\n  <memory>1024</memory>\n</domain>", NULL,
		    "40ec4580-7485-4dad-b725-128588ce8c73", NULL, 0, NULL, 0, NULL, 0, &out);

		assert_string_equal(dom->uuid, "40ec4580-7485-4dad-b725-128588ce8c73");
		assert_string_equal(out, "<domain>\n  <name>m</name>\n"
					 "  <uuid>40ec4580-7485-4dad-b725-128588ce8c73</uuid>\n"
					 "  <memory>1024</memory>\n</domain>\n");
	}
	assert_null(hv_domain_xml_edit(xml, NULL, "not-a-uuid", NULL, 0, NULL, 0, NULL, 0, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	assert_non_null(strstr(err.msg, "not-a-uuid"));
	sd_err_clear(&err);
	assert_null(hv_domain_xml_edit(xml, "", NULL, NULL, 0, NULL, 0, NULL, 0, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
}

/* Paths are data: quotes, ampersands, angle brackets, spaces, non-ASCII and
 * things that look like markup come back exactly. */
static void test_edit_hostile_paths(void **state)
{
	SD_AUTOFREE char *xml = read_fixture("domain-real-running.xml");
	const struct hv_disk_source sources[] = {
	    {"vda", "/imgs/it's \"q\" & <x> ü  two spaces.qcow2", "qcow2"},
	    {"vdb", "/imgs/&amp; ]]> <!-- no --> &#x41; 日本.raw", "raw"},
	};
	SD_AUTO(hv_domain) *dom =
	    edit_ok(xml, NULL, NULL, sources, SD_N_ELEMENTS(sources), NULL, 0, NULL, 0, NULL);
	SD_AUTOFREE char *again = NULL;
	SD_AUTO(hv_domain) *dom2 = NULL;

	assert_int_equal(dom->ndisks, 2);
	assert_string_equal(dom->disks[0].source, sources[0].path);
	assert_string_equal(dom->disks[1].source, sources[1].path);
	/* and again through an import of the edited XML */
	{
		const struct hv_disk_import imp = {"vdb", dom->xml};

		dom2 = edit_ok(xml, NULL, NULL, NULL, 0, NULL, 0, &imp, 1, &again);
	}
	assert_string_equal(dom2->disks[1].source, sources[1].path);
	assert_non_null(strstr(again, "日本")); /* UTF-8 as it is */
}

static void test_edit_errors(void **state)
{
	SD_AUTOFREE char *xml = read_fixture("domain-real-inactive.xml");
	SD_AUTOFREE char *nodisks = read_fixture("domain-nodisks.xml");
	const struct hv_disk_source vdb = {"vdb", "/x.qcow2", "qcow2"};
	const struct hv_disk_source vdz = {"vdz", "/x.qcow2", "qcow2"};
	const struct hv_disk_source nopath = {"vda", NULL, "qcow2"};
	const struct hv_disk_source noformat = {"vda", "/x.qcow2", ""};

	edit_fails(nodisks, &vdb, 1, NULL, 0, NULL, 0, "no disk vdb in the configuration");
	edit_fails(xml, &vdz, 1, NULL, 0, NULL, 0, "no disk vdz in the configuration");
	edit_fails("<domain><name>x</name></domain>", &vdb, 1, NULL, 0, NULL, 0,
		   "no disk vdb in the configuration");
	edit_fails(xml, &nopath, 1, NULL, 0, NULL, 0, "vda");
	edit_fails(xml, &noformat, 1, NULL, 0, NULL, 0, "vda");
	edit_fails("<domain><name>x</name>", NULL, 0, NULL, 0, NULL, 0, "invalid domain XML");
	edit_fails("<pool/>", NULL, 0, NULL, 0, NULL, 0, "<pool>");
	edit_fails(NULL, NULL, 0, NULL, 0, NULL, 0, "invalid domain XML");
	edit_fails("<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaa'>]>"
		   "<domain><name>&a;</name></domain>",
		   NULL, 0, NULL, 0, NULL, 0, "DOCTYPE");
}

static void expect_targets(const char *xml, const char *const *want, size_t n)
{
	struct sd_err err = SD_ERR_INIT;
	char **v = hv_domain_xml_disk_targets(xml, &err);

	if (!v)
		fail_msg("%s", err.msg);
	assert_int_equal(sd_strv_len(v), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[n]);
	sd_strv_free(v);
}

static void test_disk_targets(void **state)
{
	SD_AUTOFREE char *devices = read_fixture("domain-real-devices.xml");
	SD_AUTOFREE char *odd = read_fixture("domain-odd.xml");
	SD_AUTOFREE char *running = read_fixture("domain-real-running.xml");
	SD_AUTOFREE char *nodisks = read_fixture("domain-nodisks.xml");
	const char *const want_devices[] = {"sda", "vdc", "vdd", "vde"}; /* no cdroms */
	const char *const want_odd[] = {"vda", "vdb", "vdc", "vdd", "vde"};
	const char *const want_running[] = {"vda", "vdb"};
	struct sd_err err = SD_ERR_INIT;

	expect_targets(devices, want_devices, SD_N_ELEMENTS(want_devices));
	expect_targets(odd, want_odd, SD_N_ELEMENTS(want_odd));
	expect_targets(running, want_running, SD_N_ELEMENTS(want_running));
	expect_targets(nodisks, NULL, 0);
	expect_targets("<domain><name>x</name></domain>", NULL, 0);
	expect_targets("<domain><devices><disk><source file='/a'/></disk>"
		       "<disk device='lun'><target dev='sdb'/></disk>"
		       "<disk device='disk'><target dev='vdq'/></disk></devices></domain>",
		       (const char *const[]){"vdq"}, 1);
	assert_null(hv_domain_xml_disk_targets("<domain>", &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid domain XML"));
	sd_err_clear(&err);
	assert_null(hv_domain_xml_disk_targets("<network/>", &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
}

static void test_volume_xml_build(void **state)
{
	SD_AUTOFREE char *overlay =
	    hv_volume_xml_build("top ü.qcow2", "qcow2", 0, "/pool/base.qcow2", "qcow2");
	SD_AUTOFREE char *sized =
	    hv_volume_xml_build("o.qcow2", "qcow2", 1 << 30, "/pool/b.raw", "raw");
	SD_AUTOFREE char *raw = hv_volume_xml_build("a&b<\"c\">.raw", "raw", 1048576, NULL, NULL);
	struct hv_volume v = {0};
	struct sd_err err = SD_ERR_INIT;

	assert_non_null(strstr(overlay, "<compat>1.1</compat>"));
	assert_non_null(strstr(overlay, "<format type=\"qcow2\"/>"));
	assert_non_null(strstr(overlay, "<backingStore>"));
	assert_non_null(strstr(overlay, "<path>/pool/base.qcow2</path>"));
	assert_null(strstr(overlay, "<capacity")); /* libvirt takes the backing size */
	assert_int_equal(hv_volume_parse(overlay, &v, &err), 0);
	assert_string_equal(v.name, "top ü.qcow2");
	assert_string_equal(v.format, "qcow2");
	assert_string_equal(v.backing, "/pool/base.qcow2");
	assert_int_equal(v.capacity, 0);

	assert_non_null(strstr(sized, "<capacity unit=\"bytes\">1073741824</capacity>"));
	assert_non_null(strstr(sized, "<compat>1.1</compat>"));
	assert_non_null(strstr(sized, "<format type=\"raw\"/>")); /* the backing format */

	assert_null(strstr(raw, "compat"));
	assert_null(strstr(raw, "backingStore"));
	assert_non_null(strstr(raw, "<capacity unit=\"bytes\">1048576</capacity>"));
	assert_int_equal(hv_volume_parse(raw, &v, &err), 0);
	assert_string_equal(v.name, "a&b<\"c\">.raw");
	assert_string_equal(v.format, "raw");
	assert_null(v.backing);
	assert_int_equal(v.capacity, 1048576);
	hv_volume_clear(&v);
}

static void test_volume_parse_fixtures(void **state)
{
	SD_AUTOFREE char *p1 = sdtest_fixture("volume-real-overlay.xml");
	SD_AUTOFREE char *p2 = sdtest_fixture("volume-real-raw.xml");
	SD_AUTOFREE char *overlay = sdtest_read_file(p1);
	SD_AUTOFREE char *raw = sdtest_read_file(p2);
	struct hv_volume v = {0};
	struct sd_err err = SD_ERR_INIT;

	assert_int_equal(hv_volume_parse(overlay, &v, &err), 0);
	assert_string_equal(v.name, "top ü.qcow2");
	assert_string_equal(v.path, "/tmp/hvscratch/pool/top ü.qcow2");
	assert_string_equal(v.format, "qcow2");
	assert_string_equal(v.backing, "/tmp/hvscratch/pool/base.qcow2");
	assert_int_equal(v.capacity, 67108864);
	assert_int_equal(v.allocation, 200704);
	assert_int_equal(hv_volume_parse(raw, &v, &err), 0);
	assert_string_equal(v.name, "plain.raw");
	assert_string_equal(v.format, "raw");
	assert_null(v.backing);
	assert_int_equal(v.capacity, 1048576);
	hv_volume_clear(&v);
	hv_volume_clear(&v); /* twice is fine */

	assert_int_equal(hv_volume_parse("<pool/>", &v, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
}

static void test_pool_parse_fixture(void **state)
{
	SD_AUTOFREE char *path = sdtest_fixture("pool-real-dir.xml");
	SD_AUTOFREE char *xml = sdtest_read_file(path);
	struct hv_pool p = {0};
	struct sd_err err = SD_ERR_INIT;

	assert_int_equal(hv_pool_parse(xml, &p, &err), 0);
	assert_string_equal(p.type, "dir");
	assert_string_equal(p.path, "/tmp/hvscratch/pool");
	hv_pool_clear(&p);
	assert_null(p.type);
	assert_int_equal(hv_pool_parse("<pool type='dir'><target/></pool>", &p, &err), 0);
	assert_null(p.path);
	hv_pool_clear(&p);
	assert_int_equal(hv_pool_parse("<volume/>", &p, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
}

static void test_state_names(void **state)
{
	assert_string_equal(hv_state_name(HV_STATE_RUNNING), "running");
	assert_string_equal(hv_state_name(HV_STATE_SHUTOFF), "shutoff");
	assert_string_equal(hv_state_name(HV_STATE_PAUSED), "paused");
	assert_string_equal(hv_state_name((enum hv_state)99), "nostate");
	assert_string_equal(hv_state_label(HV_STATE_RUNNING), "run");
	assert_string_equal(hv_state_label(HV_STATE_SHUTOFF), "off");
}

/* ---- libvirt's test driver ---- */

/* Runs fn with stderr sent to a file; returns what was written there. */
static char *capture_stderr(void (*fn)(void))
{
	SD_AUTOFREE char *dir = sdtest_mkdtemp("hv-stderr");
	SD_AUTOFREE char *path = sd_asprintf("%s/stderr", dir);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *text;

	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	text = sdtest_read_file(path);
	sdtest_rm_rf(dir);
	return text;
}

static void open_bogus(void)
{
	struct sd_err err = SD_ERR_INIT;
	struct hv_conn *c = hv_open("bogus:///nothing", false, &err);

	assert_null(c);
	assert_int_equal(err.code, SD_ERR_HV);
	assert_null(strchr(err.msg, '\n'));
	if (strncmp(err.msg, "cannot connect to bogus:///nothing: ", 36) != 0)
		fail_msg("unexpected message: %s", err.msg);
	sd_err_clear(&err);
	c = hv_open("qemu+unix:///system?socket=/nonexistent/sdhv-sock", true, &err);
	assert_null(c);
	assert_int_equal(err.code, SD_ERR_HV);
	assert_null(strchr(err.msg, '\n'));
	if (!strstr(err.msg, "/nonexistent/sdhv-sock") || !strstr(err.msg, "libvirtd"))
		fail_msg("unexpected message: %s", err.msg);
}

static void test_open_bogus(void **state)
{
	SD_AUTOFREE char *printed = capture_stderr(open_bogus);

	assert_non_null(printed);
	assert_string_equal(printed, ""); /* libvirt printed nothing */
}

static void test_open_readonly(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, true, &err);

	assert_non_null(c);
	assert_true(hv_readonly(c));
	assert_string_equal(hv_uri(c), TEST_URI);
}

static void test_testdriver_domains(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, false, &err);
	struct hv_domain **v = NULL;
	size_t n = 0;
	const struct hv_domain *test = NULL;
	SD_AUTO(hv_domain) *byname = NULL;
	SD_AUTO(hv_domain) *byuuid = NULL;

	assert_non_null(c);
	assert_false(hv_readonly(c));
	assert_string_equal(hv_uri(c), TEST_URI);
	assert_int_equal(hv_domain_list(c, &v, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_true(strcmp(v[i - 1]->name, v[i]->name) <= 0);
		if (strcmp(v[i]->name, "test") == 0)
			test = v[i];
	}
	assert_non_null(test);
	assert_int_equal(test->state, HV_STATE_RUNNING);
	assert_true(test->persistent);
	assert_string_equal(test->uuid, TEST_UUID);
	assert_int_equal(test->vcpus, 2);
	assert_int_equal(test->memory_kib, 8388608);
	assert_non_null(strstr(test->xml, "<name>test</name>"));
	hv_domains_free(v, n);

	byname = hv_domain_lookup(c, "test", &err);
	assert_non_null(byname);
	assert_string_equal(byname->uuid, TEST_UUID);
	assert_int_equal(byname->state, HV_STATE_RUNNING);
	byuuid = hv_domain_lookup(c, "6695EB01-F6A4-8304-79AA-97F2502E193F", &err);
	assert_non_null(byuuid);
	assert_string_equal(byuuid->name, "test");

	assert_null(hv_domain_lookup(c, "no-such-vm", &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	assert_string_equal(err.msg, "no VM named 'no-such-vm'");
	sd_err_clear(&err);
	assert_null(hv_domain_lookup(c, "00000000-0000-4000-8000-000000000000", &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	assert_int_equal(hv_domain_start(c, "test", &err), -1);
	assert_int_equal(err.code, SD_ERR_STATE);
}

static void test_testdriver_define_remove(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, false, &err);
	struct hv_domain_spec spec = {
	    .name = "sdhv 'odd' & <new> ü",
	    .type = "test",
	    .vcpus = 2,
	    .memory_kib = 65536,
	    .description = "a <b> & \"c\"",
	    .ndisks = 1,
	};
	SD_AUTOFREE char *xml = NULL;
	SD_AUTO(hv_domain) *dom = NULL;
	char uuid[37];

	assert_non_null(c);
	spec.disks[0].target = "vda";
	spec.disks[0].path = "/default-pool/my disk ü.qcow2";
	spec.disks[0].format = "qcow2";
	xml = hv_domain_xml_build(&spec);
	if (hv_domain_define(c, xml, &err) < 0)
		fail_msg("%s", err.msg);
	dom = hv_domain_lookup(c, spec.name, &err);
	assert_non_null(dom);
	assert_int_equal(dom->state, HV_STATE_SHUTOFF);
	assert_true(dom->persistent);
	assert_int_equal(dom->ndisks, 1);
	assert_string_equal(dom->disks[0].source, spec.disks[0].path);
	strcpy(uuid, dom->uuid);

	assert_int_equal(hv_domain_destroy(c, spec.name, &err), -1);
	assert_int_equal(err.code, SD_ERR_STATE);
	sd_err_clear(&err);
	assert_int_equal(hv_domain_start(c, uuid, &err), 0);
	hv_domain_free(SD_STEAL(dom));
	dom = hv_domain_lookup(c, uuid, &err);
	assert_int_equal(dom->state, HV_STATE_RUNNING);
	assert_int_equal(hv_domain_destroy(c, spec.name, &err), 0);
	assert_int_equal(hv_domain_start(c, spec.name, &err), 0);

	/* remove a running domain by UUID, then again: absent is fine */
	if (hv_domain_remove(c, uuid, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(hv_domain_remove(c, uuid, &err), 0);
	assert_int_equal(hv_domain_remove(c, spec.name, &err), 0);
	assert_false(sd_err_is_set(&err));
	assert_null(hv_domain_lookup(c, spec.name, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);

	assert_int_equal(hv_domain_define(c, "<domain type='test'><name>x</name>", &err), -1);
	assert_int_equal(err.code, SD_ERR_HV);
	assert_true(strncmp(err.msg, "cannot define VM: ", 18) == 0);
	assert_null(strchr(err.msg, '\n'));
	assert_null(strchr(err.msg, '^')); /* the first line of libvirt's message only */
}

static void test_testdriver_pools(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, false, &err);
	struct hv_pool *v = NULL, p = {0};
	size_t n = 0;
	bool found = false;

	assert_non_null(c);
	assert_int_equal(hv_pool_list(c, &v, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, "default-pool") != 0)
			continue;
		found = true;
		assert_string_equal(v[i].type, "dir");
		assert_string_equal(v[i].path, "/default-pool");
		assert_true(v[i].active);
		assert_true(v[i].capacity > 0);
	}
	assert_true(found);
	hv_pools_free(v, n);

	assert_int_equal(hv_pool_get(c, "default-pool", &p, &err), 1);
	assert_string_equal(p.name, "default-pool");
	hv_pool_clear(&p);
	assert_int_equal(hv_pool_get(c, "no-such-pool", &p, &err), 0);
	assert_false(sd_err_is_set(&err));
	assert_int_equal(hv_pool_for_path(c, "/default-pool/a b.qcow2", &p, &err), 1);
	assert_string_equal(p.name, "default-pool");
	hv_pool_clear(&p);
	assert_int_equal(hv_pool_for_path(c, "/elsewhere/a.qcow2", &p, &err), 0);
	assert_int_equal(hv_pool_refresh(c, "default-pool", &err), 0);
	assert_int_equal(hv_pool_refresh(c, "no-such-pool", &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
}

static void test_testdriver_pool_ensure(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, false, &err);
	SD_AUTOFREE char *dir = sdtest_mkdtemp("hv-pool");
	SD_AUTOFREE char *other = sdtest_mkdtemp("hv-pool-other");
	SD_AUTOFREE char *slash = sd_asprintf("%s/", dir);
	SD_AUTOFREE char *file = sd_asprintf("%s/disk.qcow2", dir);
	struct hv_pool p = {0};

	assert_non_null(c);
	if (hv_pool_ensure_dir(c, "sdhv-pool", dir, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(hv_pool_get(c, "sdhv-pool", &p, &err), 1);
	assert_string_equal(p.type, "dir");
	assert_string_equal(p.path, dir);
	assert_true(p.active);
	assert_true(p.autostart);
	hv_pool_clear(&p);
	/* again, even spelled differently: nothing to do */
	assert_int_equal(hv_pool_ensure_dir(c, "sdhv-pool", dir, &err), 0);
	assert_int_equal(hv_pool_ensure_dir(c, "sdhv-pool", slash, &err), 0);
	assert_int_equal(hv_pool_ensure_dir(c, "sdhv-pool", other, &err), -1);
	assert_int_equal(err.code, SD_ERR_EXISTS);
	sd_err_clear(&err);
	assert_int_equal(hv_pool_ensure_dir(c, "sdhv-rel", "relative/dir", &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_int_equal(hv_pool_for_path(c, file, &p, &err), 1);
	assert_string_equal(p.name, "sdhv-pool");
	hv_pool_clear(&p);

	assert_int_equal(hv_pool_remove(c, "sdhv-pool", &err), 0);
	assert_int_equal(hv_pool_get(c, "sdhv-pool", &p, &err), 0);
	assert_int_equal(hv_pool_remove(c, "sdhv-pool", &err), 0);
	assert_false(sd_err_is_set(&err));
	sdtest_rm_rf(dir);
	sdtest_rm_rf(other);
}

static void test_testdriver_volumes(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, false, &err);
	SD_AUTOFREE char *path = NULL;
	SD_AUTOFREE char *path2 = NULL;
	struct hv_volume *v = NULL;
	size_t n = 0;
	bool found = false;

	assert_non_null(c);
	if (hv_volume_create(c, "default-pool", "sdhv base.qcow2", "qcow2", 1 << 20, NULL, NULL,
			     &path, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(path, "/default-pool/sdhv base.qcow2");
	assert_int_equal(hv_volume_create(c, "default-pool", "sdhv base.qcow2", "qcow2", 1 << 20,
					  NULL, NULL, &path2, &err),
			 -1);
	assert_int_equal(err.code, SD_ERR_EXISTS);
	assert_null(path2);
	sd_err_clear(&err);
	assert_int_equal(hv_volume_create(c, "no-such-pool", "x", "raw", 1, NULL, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	assert_int_equal(
	    hv_volume_create(c, "default-pool", "../x", "raw", 1, NULL, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);

	assert_int_equal(hv_volume_list(c, "default-pool", &v, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, "sdhv base.qcow2") != 0)
			continue;
		found = true;
		assert_string_equal(v[i].path, path);
		assert_string_equal(v[i].format, "qcow2");
		assert_int_equal(v[i].capacity, 1 << 20);
		assert_null(v[i].backing);
	}
	assert_true(found);
	hv_volumes_free(v, n);

	assert_int_equal(hv_volume_delete_path(c, path, &err), 0);
	assert_int_equal(hv_volume_delete_path(c, path, &err), 0);
	assert_int_equal(hv_volume_delete_path(c, "/nowhere/x.qcow2", &err), 0);
	assert_false(sd_err_is_set(&err));
	assert_int_equal(hv_volume_list(c, "no-such-pool", &v, &n, &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
}


/* ---- live.h: the pure parts ---- */

static void test_live_snapshot_xml(void **state)
{
	struct hv_live_disk disks[] = {{"vda", "/v/a'1 & <b>\".qcow2"}, {"vdb", NULL}};
	struct hv_live_snapshot s = {.disks = disks, .ndisks = 2};
	SD_AUTOFREE char *x1 = NULL;
	SD_AUTOFREE char *x2 = NULL;

	(void)state;
	x1 = hv_live_snapshot_xml(&s);
	assert_string_equal(x1, "<domainsnapshot>\n"
				"  <memory snapshot=\"no\"/>\n"
				"  <disks>\n"
				"    <disk name=\"vda\" snapshot=\"external\" type=\"file\">\n"
				"      <driver type=\"qcow2\"/>\n"
				"      <source file=\"/v/a'1 &amp; &lt;b&gt;&quot;.qcow2\"/>\n"
				"    </disk>\n"
				"    <disk name=\"vdb\" snapshot=\"no\"/>\n"
				"  </disks>\n"
				"</domainsnapshot>\n");
	disks[1].path = "/v/b1.qcow2";
	s.memory_path = "/v/mem \xc3\xbc&";
	x2 = hv_live_snapshot_xml(&s);
	assert_string_equal(x2, "<domainsnapshot>\n"
				"  <memory snapshot=\"external\" file=\"/v/mem \xc3\xbc&amp;\"/>\n"
				"  <disks>\n"
				"    <disk name=\"vda\" snapshot=\"external\" type=\"file\">\n"
				"      <driver type=\"qcow2\"/>\n"
				"      <source file=\"/v/a'1 &amp; &lt;b&gt;&quot;.qcow2\"/>\n"
				"    </disk>\n"
				"    <disk name=\"vdb\" snapshot=\"external\" type=\"file\">\n"
				"      <driver type=\"qcow2\"/>\n"
				"      <source file=\"/v/b1.qcow2\"/>\n"
				"    </disk>\n"
				"  </disks>\n"
				"</domainsnapshot>\n");
}

static void assert_strv(char **v, const char *const *want, size_t n)
{
	assert_non_null(v);
	assert_int_equal(sd_strv_len(v), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
	sd_strv_free(v);
}

static void test_live_chain_parse(void **state)
{
	SD_AUTOFREE char *running = sdtest_fixture("domain-real-running.xml");
	SD_AUTOFREE char *inactive = sdtest_fixture("domain-real-inactive.xml");
	SD_AUTOFREE char *rxml = sdtest_read_file(running);
	SD_AUTOFREE char *ixml = sdtest_read_file(inactive);
	static const char *const vda[] = {"/tmp/hvscratch/root.qcow2", "/tmp/hvscratch/base.qcow2"};
	static const char *const vdb[] = {"/tmp/hvscratch/data disk \xc3\xbc.qcow2"};
	static const char *const vda_off[] = {"/tmp/hvscratch/root.qcow2"};
	/* three layers, a job's <mirror> (not part of the chain), a block
	 * device at the bottom */
	static const char *const deep =
	    "<domain><name>x</name><devices>"
	    "<disk type='file' device='disk'><source file='/i/top &amp; co.qcow2' index='4'/>"
	    "<backingStore type='file' index='3'><format type='qcow2'/>"
	    "<source file='/i/mid.qcow2'/>"
	    "<backingStore type='block' index='2'><format type='qcow2'/>"
	    "<source dev='/dev/vg/base'/><backingStore/></backingStore></backingStore>"
	    "<mirror type='file' job='active-commit' ready='yes'><format type='qcow2'/>"
	    "<source file='/i/mid.qcow2' index='3'/></mirror>"
	    "<target dev='vdc' bus='virtio'/></disk>"
	    "<disk type='network' device='disk'><source protocol='nbd' name='e'/>"
	    "<target dev='vdd'/></disk>"
	    "</devices></domain>";
	static const char *const vdc[] = {"/i/top & co.qcow2", "/i/mid.qcow2", "/dev/vg/base"};
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	assert_strv(hv_live_chain_parse(rxml, "vda", &err), vda, 2);
	assert_strv(hv_live_chain_parse(rxml, "vdb", &err), vdb, 1);
	assert_strv(hv_live_chain_parse(ixml, "vda", &err), vda_off, 1);
	assert_strv(hv_live_chain_parse(deep, "vdc", &err), vdc, 3);
	assert_false(sd_err_is_set(&err));

	assert_null(hv_live_chain_parse(rxml, "vdz", &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	assert_null(hv_live_chain_parse(deep, "vdd", &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_null(hv_live_chain_parse("<domain><devices>", "vda", &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
}

static void test_restore_xml(void **state)
{
	SD_AUTOFREE char *path = sdtest_fixture("domain-real-saved.xml");
	SD_AUTOFREE char *saved = sdtest_read_file(path);
	SD_AUTOFREE char *running = sdtest_fixture("domain-real-running.xml");
	SD_AUTOFREE char *rxml = sdtest_read_file(running);
	SD_AUTOFREE char *x1 = NULL;
	SD_AUTOFREE char *x2 = NULL;
	SD_AUTOFREE char *x3 = NULL;
	struct hv_live_disk tops[] = {{"vda", "/n/a2 & 'x'.qcow2"}, {"vdb", "/n/b2.qcow2"}};
	struct hv_live_disk one[] = {{"vda", "/n/a2.qcow2"}, {NULL, "/ignored"}, {"vdz", "/n"}};
	struct hv_live_disk bad[] = {{"vdz", "/n/z.qcow2"}};
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_domain) *dom = NULL;

	(void)state;
	assert_non_null(saved);
	/* what libvirt saved: the disks with an empty <backingStore/> */
	assert_non_null(strstr(saved, "<backingStore/>"));
	x1 = hv_restore_xml(saved, tops, 2, &err);
	if (!x1)
		fail_msg("%s", err.msg);
	assert_null(strstr(x1, "backingStore"));
	assert_non_null(strstr(x1, "<source file=\"/n/a2 &amp; 'x'.qcow2\"/>"));
	assert_non_null(strstr(x1, "<source file=\"/n/b2.qcow2\"/>"));
	assert_null(strstr(x1, "a0.qcow2"));
	dom = hv_domain_parse(x1, &err);
	assert_non_null(dom);
	assert_int_equal(dom->ndisks, 2);
	assert_string_equal(dom->disks[0].source, "/n/a2 & 'x'.qcow2");
	assert_string_equal(dom->disks[0].driver_type, "qcow2");
	assert_string_equal(dom->disks[1].source, "/n/b2.qcow2");
	assert_string_equal(dom->name, "sdhv-saved");
	assert_string_equal(dom->uuid, "1dbf3b21-3f38-403f-812a-893f1cc638ff");

	/* only the disks given change; a NULL target ends the list */
	x2 = hv_restore_xml(rxml, one, 3, &err);
	if (!x2)
		fail_msg("%s", err.msg);
	assert_non_null(strstr(x2, "<source file=\"/n/a2.qcow2\"/>"));
	assert_null(strstr(x2, "root.qcow2"));
	assert_null(strstr(x2, "base.qcow2"));
	assert_non_null(strstr(x2, "data disk \xc3\xbc.qcow2"));
	assert_non_null(strstr(x2, "<backingStore/>")); /* vdb's, untouched */

	x3 = hv_restore_xml(saved, bad, 1, &err);
	assert_null(x3);
	assert_int_equal(err.code, SD_ERR_INVALID);
	assert_non_null(strstr(err.msg, "vdz"));
	sd_err_clear(&err);
	assert_null(hv_restore_xml("<domain>", tops, 2, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
}

/* Without hv_events_start (the CLI): pause and resume do nothing, a watch
 * is refused clearly, reconnecting works. */
static void test_events_without_loop(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_conn) *c = hv_open(TEST_URI, false, &err);
	SD_AUTO(hv_domain) *dom = NULL;
	volatile int flag = 0;

	(void)state;
	assert_non_null(c);
	hv_events_pause();
	hv_events_pause();
	hv_events_resume();
	hv_events_resume();
	hv_events_resume(); /* one too many: still nothing */
	assert_int_equal(hv_watch_domains(c, &flag, &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);
	assert_false(hv_conn_closed(c));
	if (hv_reconnect(c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_false(hv_conn_closed(c));
	assert_string_equal(hv_uri(c), TEST_URI);
	dom = hv_domain_lookup(c, "test", &err);
	assert_non_null(dom);
	assert_int_equal(flag, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_real_inactive),
	    cmocka_unit_test(test_parse_real_running),
	    cmocka_unit_test(test_parse_real_devices),
	    cmocka_unit_test(test_parse_nodisks),
	    cmocka_unit_test(test_parse_odd),
	    cmocka_unit_test(test_parse_memory_units),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_build_roundtrip),
	    cmocka_unit_test(test_build_defaults),
	    cmocka_unit_test(test_edit_sources_real),
	    cmocka_unit_test(test_edit_sources_kinds),
	    cmocka_unit_test(test_edit_remove),
	    cmocka_unit_test(test_edit_import),
	    cmocka_unit_test(test_edit_name_uuid),
	    cmocka_unit_test(test_edit_hostile_paths),
	    cmocka_unit_test(test_edit_errors),
	    cmocka_unit_test(test_disk_targets),
	    cmocka_unit_test(test_volume_xml_build),
	    cmocka_unit_test(test_volume_parse_fixtures),
	    cmocka_unit_test(test_pool_parse_fixture),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_open_bogus),
	    cmocka_unit_test(test_open_readonly),
	    cmocka_unit_test(test_testdriver_domains),
	    cmocka_unit_test(test_testdriver_define_remove),
	    cmocka_unit_test(test_testdriver_pools),
	    cmocka_unit_test(test_testdriver_pool_ensure),
	    cmocka_unit_test(test_testdriver_volumes),
	    cmocka_unit_test(test_live_snapshot_xml),
	    cmocka_unit_test(test_live_chain_parse),
	    cmocka_unit_test(test_restore_xml),
	    cmocka_unit_test(test_events_without_loop),
	};

#ifdef SD_TEST_FIXTURES
	setenv("SNAPDECK_FIXTURES", SD_TEST_FIXTURES, 0);
#endif
	hv_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
