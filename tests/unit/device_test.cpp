#include "device_classify.hpp"
#include "device_mountinfo.hpp"
#include "fakes/fake_device_probe.hpp"
#include "fakes/temp_tree.hpp"

#include <spindle/device.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace spindle {
namespace {

using fakes::disk_facts;
using fakes::FakeDeviceProbe;

// ---- mountinfo ----------------------------------------------------------------------------------

TEST(MountinfoTest, ParsesOneLine) {
  std::optional<MountEntry> entry =
      parse_mountinfo_line("41 27 8:17 /sub /mnt/my\\040disk rw master:2 - ext4 /dev/sdb1 rw,errors=remount-ro");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->mount.st_dev, makedev(8, 17));
  EXPECT_EQ(entry->root, "/sub");
  EXPECT_EQ(entry->mount.mount_point, "/mnt/my disk");
  EXPECT_EQ(entry->mount.fs_type, "ext4");
  EXPECT_EQ(entry->mount.source, "/dev/sdb1");
  EXPECT_EQ(entry->super_options, "rw,errors=remount-ro");
  for (const char* bad : {"", "1 2 3 4 5 6", "1 2 x:y / / rw - ext4 /dev/sda rw", "1 2 8 / / rw - ext4 /dev/sda rw",
                          "1 2 8:1 / / rw - ext4", "- - - - - - -"}) {
    EXPECT_FALSE(parse_mountinfo_line(bad).has_value()) << bad;
  }
}

TEST(MountinfoTest, ParsesFieldsAndUnescapesNames) {
  const char* text =
      "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
      "30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k\n"
      "41 27 8:17 / /mnt/my\\040disk\\011tab rw master:2 propagate_from:1 - ext4 /dev/sdb1 rw\n"
      "42 27 0:44 /sub /srv/back\\134slash\\012nl rw - btrfs /dev/my\\040dev rw,subvol=/sub\n";
  std::vector<MountEntry> entries = parse_mountinfo(text);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].mount.st_dev, makedev(254, 0));
  EXPECT_EQ(entries[0].mount.fs_type, "ext4");
  EXPECT_EQ(entries[0].mount.source, "/dev/vda");
  EXPECT_EQ(entries[0].mount.mount_point, "/");
  EXPECT_EQ(entries[0].root, "/");
  EXPECT_EQ(entries[0].super_options, "rw,discard");
  EXPECT_EQ(entries[1].mount.st_dev, makedev(0, 27));
  // Several optional fields before the separator.
  EXPECT_EQ(entries[2].mount.st_dev, makedev(8, 17));
  EXPECT_EQ(entries[2].mount.mount_point, "/mnt/my disk\ttab");
  EXPECT_EQ(entries[2].mount.source, "/dev/sdb1");
  EXPECT_EQ(entries[3].mount.mount_point, "/srv/back\\slash\nnl");
  EXPECT_EQ(entries[3].mount.source, "/dev/my dev");
  EXPECT_EQ(entries[3].root, "/sub");
}

TEST(MountinfoTest, SkipsMalformedLines) {
  const char* text =
      "garbage\n"
      "\n"
      "1 2 x:y / /a rw - ext4 /dev/sda rw\n"
      "1 2 8:1 / /b rw ext4 /dev/sda rw\n"  // no separator
      "1 2 8:1 / /c rw - ext4\n"            // separator but no source
      "1 2 8:1 / /d rw - ext4 /dev/sda1 rw\n";
  std::vector<MountEntry> entries = parse_mountinfo(text);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].mount.mount_point, "/d");
}

TEST(MountinfoTest, UnescapeLeavesIncompleteEscapesAlone) {
  EXPECT_EQ(unescape_mountinfo("a\\040b"), "a b");
  EXPECT_EQ(unescape_mountinfo("a\\134b"), "a\\b");
  EXPECT_EQ(unescape_mountinfo("a\\04"), "a\\04");
  EXPECT_EQ(unescape_mountinfo("a\\x41"), "a\\x41");
  EXPECT_EQ(unescape_mountinfo("\\"), "\\");
}

TEST(MountinfoTest, MountOptionFindsAndUnescapesValues) {
  std::string_view options = "rw,lowerdir=/l1:/l2,upperdir=/var/up\\054per,workdir=/w";
  EXPECT_EQ(mount_option(options, "upperdir"), "/var/up,per");
  EXPECT_EQ(mount_option(options, "lowerdir"), "/l1:/l2");
  EXPECT_FALSE(mount_option(options, "upper").has_value());
  EXPECT_FALSE(mount_option(options, "rw").has_value());
}

TEST(MountinfoTest, VisibleMountsDropShadowedAndPreferFilesystemRoots) {
  std::vector<MountEntry> entries = parse_mountinfo(
      "25 24 0:23 / /dev/shm rw - tmpfs tmpfs rw\n"
      "26 27 8:1 /data /srv rw - ext4 /dev/sda1 rw\n"
      "27 1 8:1 / /mnt rw - ext4 /dev/sda1 rw\n"
      "30 25 0:27 / /dev/shm rw - tmpfs tmpfs rw\n");
  std::vector<Mount> mounts = visible_mounts(entries);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].mount_point, "/mnt");     // the root of 8:1 before its bind-mounted subtree
  EXPECT_EQ(mounts[1].st_dev, makedev(0, 27));  // the tmpfs on top, not the one it covers
  EXPECT_EQ(mounts[2].mount_point, "/srv");
}

TEST(MountinfoTest, FilesystemKinds) {
  EXPECT_EQ(classify_fs_type("tmpfs", "tmpfs"), FsKind::ram);
  EXPECT_EQ(classify_fs_type("ramfs", "none"), FsKind::ram);
  for (const char* type : {"nfs", "nfs4", "cifs", "smb3", "ceph", "9p", "afs", "fuse.sshfs", "fuse.rclone"}) {
    EXPECT_EQ(classify_fs_type(type, "server:/x"), FsKind::network) << type;
  }
  EXPECT_EQ(classify_fs_type("fuse.mergerfs", "a:b"), FsKind::network);  // host:path source
  EXPECT_EQ(classify_fs_type("fuse.mergerfs", "/mnt/disk*"), FsKind::other);
  EXPECT_EQ(classify_fs_type("fuse", "user@host:/home"), FsKind::network);
  EXPECT_EQ(classify_fs_type("fuseblk", "/dev/sdb1"), FsKind::block);
  EXPECT_EQ(classify_fs_type("overlay", "overlay"), FsKind::overlay);
  for (const char* type : {"proc", "sysfs", "cgroup2", "devpts", "autofs", "devtmpfs"}) {
    EXPECT_EQ(classify_fs_type(type, type), FsKind::pseudo) << type;
  }
  EXPECT_EQ(classify_fs_type("ext4", "/dev/sda1"), FsKind::block);
  EXPECT_EQ(classify_fs_type("btrfs", "/dev/sda2"), FsKind::block);
}

TEST(MountinfoTest, NetworkServerIsTheHost) {
  EXPECT_EQ(network_server("nas:/export/a"), "nas");
  EXPECT_EQ(network_server("//nas/share"), "nas");
  EXPECT_EQ(network_server("user@nas:/home"), "nas");
  EXPECT_EQ(network_server("[fe80::1]:/export"), "[fe80::1]");
  EXPECT_EQ(network_server("hostshare"), "hostshare");
}

TEST(MountinfoTest, PseudoFilesystems) {
  EXPECT_TRUE(is_pseudo_filesystem(Mount{0, "proc", "proc", "/proc"}));
  EXPECT_TRUE(is_pseudo_filesystem(Mount{0, "tmpfs", "tmpfs", "/sys/fs/cgroup"}));
  EXPECT_FALSE(is_pseudo_filesystem(Mount{0, "tmpfs", "tmpfs", "/dev/shm"}));
  EXPECT_FALSE(is_pseudo_filesystem(Mount{0, "ext4", "/dev/sda1", "/system"}));  // not under /sys
  EXPECT_FALSE(is_pseudo_filesystem(Mount{0, "nfs4", "nas:/x", "/mnt/nas"}));
}

// ---- classification -----------------------------------------------------------------------------

DiskFacts disk(std::string name, unsigned disk_major, unsigned disk_minor, std::optional<bool> rotational) {
  DiskFacts facts;
  facts.devnode = "/dev/" + name;
  facts.name = std::move(name);
  facts.major = disk_major;
  facts.minor = disk_minor;
  facts.rotational = rotational;
  return facts;
}

TEST(ClassifyTest, PhysicalDisks) {
  EXPECT_EQ(classify_disk(disk("sda", 8, 0, true)), DeviceClass::hdd);
  EXPECT_EQ(classify_disk(disk("nvme0n1", 259, 0, false)), DeviceClass::ssd);
  EXPECT_EQ(classify_disk(disk("sdz", 65, 160, std::nullopt)), DeviceClass::unknown);

  DiskFacts vda = disk("vda", 254, 0, true);  // virtio says rotational; it lies
  vda.paravirtual = true;
  EXPECT_EQ(classify_disk(vda), DeviceClass::virtual_disk);

  DiskFacts usb = disk("sdb", 8, 16, false);
  usb.usb = true;
  EXPECT_EQ(classify_disk(usb), DeviceClass::removable);
  DiskFacts stick = disk("sdc", 8, 32, true);
  stick.removable = true;
  EXPECT_EQ(classify_disk(stick), DeviceClass::removable);

  DiskFacts zram = disk("zram0", 253, 0, false);
  zram.ram_backed = true;
  EXPECT_EQ(classify_disk(zram), DeviceClass::ram);
}

TEST(ClassifyTest, LoopDevicesGoByTheirOwnFlag) {
  DiskFacts loop = disk("loop3", 7, 3, true);
  loop.loop = true;
  EXPECT_EQ(classify_disk(loop), DeviceClass::hdd);
  loop.rotational = false;
  EXPECT_EQ(classify_disk(loop), DeviceClass::ssd);
  loop.paravirtual = true;  // even when its backing file sits on a virtual disk
  EXPECT_EQ(classify_disk(loop), DeviceClass::ssd);
}

TEST(ClassifyTest, StackedDeviceIsHddWhenAnyMemberSpins) {
  DiskFacts raid = disk("md0", 9, 0, false);
  raid.slaves = {disk("nvme0n1", 259, 0, false), disk("sda", 8, 0, true)};
  EXPECT_EQ(classify_disk(raid), DeviceClass::hdd);
  raid.slaves[1].rotational = false;
  EXPECT_EQ(classify_disk(raid), DeviceClass::ssd);

  // dm-crypt on LVM on md: classes come from the bottom of the stack.
  DiskFacts crypt = disk("dm-1", 253, 1, false);
  DiskFacts lv = disk("dm-0", 253, 0, false);
  DiskFacts md = disk("md1", 9, 1, false);
  md.slaves = {disk("sdb", 8, 16, true), disk("sdc", 8, 32, true)};
  lv.slaves = {md};
  crypt.slaves = {lv};
  EXPECT_EQ(classify_disk(crypt), DeviceClass::hdd);
  EXPECT_EQ(physical_disks(crypt).size(), 2u);
}

// `spindle devices` says why: the classifier returns its reason with the class.
TEST(ClassifyTest, EachClassComesWithItsReason) {
  EXPECT_EQ(explain_disk_class(disk("sda", 8, 0, true)).reason, "rotational flag 1");
  EXPECT_EQ(explain_disk_class(disk("nvme0n1", 259, 0, false)).reason, "rotational flag 0");
  EXPECT_EQ(explain_disk_class(disk("sdz", 65, 160, std::nullopt)).reason, "no readable rotational flag");

  DiskFacts vda = disk("vda", 254, 0, true);
  vda.paravirtual = true;
  vda.paravirtual_by = "virtio";
  const Classification virtio = explain_disk_class(vda);
  EXPECT_EQ(virtio.device_class, DeviceClass::virtual_disk);
  EXPECT_EQ(virtio.reason, "paravirtual disk (virtio): its rotational flag says nothing of the host's storage");

  DiskFacts usb = disk("sdb", 8, 16, false);
  usb.usb = true;
  EXPECT_EQ(explain_disk_class(usb).reason, "on USB");
  DiskFacts zram = disk("zram0", 253, 0, false);
  zram.ram_backed = true;
  EXPECT_EQ(explain_disk_class(zram).reason, "compressed RAM disk (zram)");

  DiskFacts loop = disk("loop3", 7, 3, true);
  loop.loop = true;
  EXPECT_EQ(explain_disk_class(loop).reason, "loop device, rotational flag 1");

  DiskFacts raid = disk("md0", 9, 0, false);
  raid.slaves = {disk("nvme0n1", 259, 0, false), disk("sda", 8, 0, true)};
  const Classification stacked = explain_disk_class(raid);
  EXPECT_EQ(stacked.device_class, DeviceClass::hdd);
  EXPECT_EQ(stacked.reason, "stacked: its slowest disk sda is hdd (rotational flag 1)");
}

TEST(ClassifyTest, FactsCarryTheReasonAndALoopDevicesBackingFile) {
  DiskFacts loop = disk("loop3", 7, 3, false);
  loop.loop = true;
  loop.backing_file = "/var/tmp/disk.img";
  const DeviceFacts facts = facts_from_disk(loop);
  EXPECT_EQ(facts.device_class, DeviceClass::ssd);
  EXPECT_EQ(facts.class_reason, "loop device, rotational flag 0");
  EXPECT_EQ(facts.backing_file, "/var/tmp/disk.img");
  EXPECT_EQ(facts.key, "block:7:3");  // what the calibration file stores it under
}

TEST(ClassifyTest, StackOnOneDiskSharesThatDisksKey) {
  DiskFacts lv1 = disk("dm-0", 253, 0, true);
  lv1.slaves = {disk("sda", 8, 0, true)};
  DiskFacts lv2 = disk("dm-1", 253, 1, true);
  lv2.slaves = {disk("sda", 8, 0, true)};
  DeviceFacts a = facts_from_disk(lv1);
  DeviceFacts b = facts_from_disk(lv2);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.key, facts_from_disk(disk("sda", 8, 0, true)).key);
  EXPECT_EQ(a.name, "sda");
  EXPECT_EQ(a.major, 8u);
  EXPECT_TRUE(a.slaves.empty());
}

TEST(ClassifyTest, StackOnSeveralDisksListsThemAndJoinsTheirKeys) {
  DiskFacts md = disk("md0", 9, 0, true);
  md.slaves = {disk("sdc", 8, 32, true), disk("sdb", 8, 16, true)};
  DeviceFacts facts = facts_from_disk(md);
  EXPECT_EQ(facts.name, "md0");
  EXPECT_EQ(facts.key, "block:8:16+block:8:32");  // sorted: independent of probe order
  EXPECT_EQ(facts.slaves, (std::vector<std::string>{"/dev/sdc", "/dev/sdb"}));
  EXPECT_EQ(facts.device_class, DeviceClass::hdd);
}

TEST(ClassifyTest, WwidMakesAStableKey) {
  DiskFacts sda = disk("sda", 8, 0, false);
  sda.wwid = "naa.5000 c500 a1b2";
  EXPECT_EQ(facts_from_disk(sda).key, "wwid:naa.5000_c500_a1b2");
  DiskFacts loop = disk("loop0", 7, 0, false);
  loop.loop = true;
  loop.wwid = "ignored";
  EXPECT_EQ(facts_from_disk(loop).key, "block:7:0");
}

// ---- DeviceMap ----------------------------------------------------------------------------------

class DeviceMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_probe.add_disk_fs(m_sdx1, "/data", "ext4", disk_facts("sdx", 8, 240, DeviceClass::hdd));
    m_probe.add_disk_fs(m_sdx2, "/home", "xfs", disk_facts("sdx", 8, 240, DeviceClass::hdd));
    m_probe.add_disk_fs(m_nvme, "/", "ext4", disk_facts("nvme9n1", 259, 90, DeviceClass::ssd));
    DeviceFacts ram;
    ram.key = "ram";
    ram.name = "tmpfs";
    ram.device_class = DeviceClass::ram;
    m_probe.mount_list.push_back(Mount{m_shm, "tmpfs", "tmpfs", "/dev/shm"});
    m_probe.facts_by_st_dev[m_shm] = ram;
  }

  DeviceMap build(const std::string& threads, const Calibration& calibration = {}) {
    ThreadsSpec spec;
    if (!threads.empty()) {
      spec.rules = parse_threads_argument(threads);
    }
    std::vector<std::uint64_t> st_devs{m_sdx1, m_nvme, m_sdx2, m_shm, m_sdx1};
    return DeviceMap::build(st_devs, m_probe, spec, calibration, m_log);
  }

  const PhysicalDevice& device(const DeviceMap& map, std::uint64_t st_dev) {
    return map.devices()[map.index_of(st_dev)];
  }

  std::uint64_t m_sdx1 = makedev(8, 241);
  std::uint64_t m_sdx2 = makedev(8, 242);
  std::uint64_t m_nvme = makedev(259, 91);
  std::uint64_t m_shm = makedev(0, 27);
  FakeDeviceProbe m_probe;
  Logger m_log{stderr, LogLevel::error};
};

TEST_F(DeviceMapTest, OneDevicePerKeyInFirstSeenOrder) {
  DeviceMap map = build("");
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(m_probe.probe_calls, 4);  // each st_dev probed once, the repeated one not again
  const PhysicalDevice& sdx = map.devices()[0];
  EXPECT_EQ(sdx.facts.name, "sdx");
  EXPECT_EQ(sdx.st_devs, (std::vector<std::uint64_t>{m_sdx1, m_sdx2}));
  EXPECT_EQ(sdx.mount_points, (std::vector<std::string>{"/data", "/home"}));
  EXPECT_EQ(sdx.fs_types, (std::vector<std::string>{"ext4", "xfs"}));
  EXPECT_EQ(map.index_of(m_sdx1), map.index_of(m_sdx2));
  EXPECT_EQ(map.devices()[map.index_of(m_nvme)].facts.name, "nvme9n1");
  EXPECT_EQ(map.devices()[map.index_of(m_shm)].facts.device_class, DeviceClass::ram);
}

TEST_F(DeviceMapTest, ClassDefaultsWithoutRules) {
  DeviceMap map = build("");
  EXPECT_EQ(device(map, m_sdx1).threads, default_threads(DeviceClass::hdd));
  EXPECT_EQ(device(map, m_sdx1).threads_source, ThreadsSource::builtin_default);
  EXPECT_EQ(device(map, m_nvme).threads, default_threads(DeviceClass::ssd));
}

TEST_F(DeviceMapTest, MostSpecificRuleWins) {
  Calibration calibration;
  calibration.best_threads["block:8:240"] = ThreadCounts{3, 3};
  calibration.best_threads["block:259:90"] = ThreadCounts{5, 4};

  DeviceMap map = build("", calibration);
  EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{3, 3}));
  EXPECT_EQ(device(map, m_sdx1).threads_source, ThreadsSource::calibration);

  map = build("7", calibration);  // a bare default beats calibration
  EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{7, 7}));
  EXPECT_EQ(device(map, m_sdx1).threads_source, ThreadsSource::flag);
  EXPECT_EQ(device(map, m_shm).threads, (ThreadCounts{7, 7}));

  map = build("hdd:2,7", calibration);  // one rule: 7 is hdd's whole-file count
  EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{2, 7}));
  EXPECT_EQ(device(map, m_nvme).threads, (ThreadCounts{5, 4}));
  EXPECT_EQ(device(map, m_nvme).threads_source, ThreadsSource::calibration);

  // A class rule beats the bare default, in either order.
  for (const char* spec : {"7,hdd:2", "hdd:2,2,7"}) {
    map = build(spec, calibration);
    EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{2, 2})) << spec;
    EXPECT_EQ(device(map, m_nvme).threads, (ThreadCounts{7, 7})) << spec;
  }

  map = build("7,dev:/dev/sdx:4,hdd:2", calibration);  // a device rule beats them all
  EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{4, 4}));
  EXPECT_EQ(device(map, m_nvme).threads, (ThreadCounts{7, 7}));

  map = build("hdd:2,hdd:6");  // the later rule for one target replaces the earlier
  EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{6, 6}));
}

TEST_F(DeviceMapTest, DeviceRuleByMajorMinorOfDiskOrFilesystem) {
  DeviceMap map = build("dev:8:240:5");
  EXPECT_EQ(device(map, m_sdx2).threads, (ThreadCounts{5, 5}));
  EXPECT_EQ(device(map, m_nvme).threads_source, ThreadsSource::builtin_default);
  map = build("dev:8:242:6,1");  // the partition of /home names its whole disk's pool
  EXPECT_EQ(device(map, m_sdx1).threads, (ThreadCounts{6, 1}));
  map = build("dev:8:24:6");  // a prefix of 8:240 is not a match
  EXPECT_EQ(device(map, m_sdx1).threads_source, ThreadsSource::builtin_default);
  map = build("dev:tmpfs:9");  // devices without a node go by name
  EXPECT_EQ(device(map, m_shm).threads, (ThreadCounts{9, 9}));
}

TEST_F(DeviceMapTest, DeviceRuleMatchesAMemberOfAStack) {
  DeviceFacts md = disk_facts("md7", 9, 7, DeviceClass::hdd);
  md.key = "block:8:250+block:8:251";
  md.slaves = {"/dev/sdy", "/dev/sdz"};
  std::uint64_t md_dev = makedev(9, 7);
  m_probe.add_disk_fs(md_dev, "/raid", "ext4", md);
  std::vector<std::uint64_t> st_devs{md_dev};
  ThreadsSpec spec;
  spec.rules = parse_threads_argument("dev:/dev/sdz:2");
  DeviceMap map = DeviceMap::build(st_devs, m_probe, spec, {}, m_log);
  EXPECT_EQ(map.devices()[0].threads, (ThreadCounts{2, 2}));
  EXPECT_EQ(map.devices()[0].threads_source, ThreadsSource::flag);
}

// What a run says about --threads rules that size no pool: `spec` against the fixture's devices
// (sdx hdd, nvme9n1 ssd, tmpfs ram), logged at `level`.
class UnusedRulesTest : public DeviceMapTest {
 protected:
  std::string warnings(const std::string& spec, LogLevel level = LogLevel::warning) {
    fakes::TempSink sink;
    Logger log(sink.get(), level);
    ThreadsSpec threads;
    threads.rules = parse_threads_argument(spec);
    std::vector<std::uint64_t> st_devs{m_sdx1, m_nvme, m_shm};
    DeviceMap::build(st_devs, m_probe, threads, {}, log);
    return sink.contents();
  }
};

TEST_F(UnusedRulesTest, DeviceRuleForAMissingNodeIsNoSuchDevice) {
  EXPECT_EQ(warnings("dev:/nonexistent/sdq:2"), "spindle: warning: --threads dev:/nonexistent/sdq:2: no such device\n");
}

TEST_F(UnusedRulesTest, DeviceRuleForAFileIsNotABlockDevice) {
  fakes::TempTree tree;
  const std::string file = tree.write("plain", "x");
  EXPECT_EQ(warnings("dev:" + file + ":2,1"), "spindle: warning: --threads dev:" + file + ":2,1: not a block device\n");
}

TEST_F(UnusedRulesTest, DeviceRuleForAnotherDeviceIsIgnoredWithAWarning) {
  EXPECT_EQ(warnings("dev:8:99:2"),
            "spindle: warning: --threads dev:8:99:2: no file of this run is on that device; rule ignored\n");
  EXPECT_EQ(warnings("dev:nas:2"),
            "spindle: warning: --threads dev:nas:2: no file of this run is on that device; rule ignored\n");
}

TEST_F(UnusedRulesTest, RulesThatApplySayNothing) {
  EXPECT_EQ(warnings("dev:8:240:2,hdd:1,ssd:3,ram:2,4,main:8", LogLevel::debug).find("--threads"), std::string::npos);
}

TEST_F(UnusedRulesTest, ClassRuleMatchingNoDeviceIsSaidOnlyAtVerbose) {
  // `-t hdd:1,network:2` in an alias used on every machine must not nag where there is no such disk.
  EXPECT_EQ(warnings("network:2,virtual:3"), "");
  EXPECT_EQ(warnings("network:2,hdd:1", LogLevel::info),
            "spindle: --threads network:2: no network device in this run; rule ignored\n");
}

TEST_F(UnusedRulesTest, EachRuleIsReportedOnce) {
  EXPECT_EQ(warnings("dev:/nonexistent/sdq:2,dev:/nonexistent/sdq:2"),
            "spindle: warning: --threads dev:/nonexistent/sdq:2: no such device\n");
}

// ---- the real probe, on whatever this machine has ----------------------------------------------

TEST(SystemProbeTest, ProbesTheRootFilesystemAndShm) {
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  std::vector<Mount> mounts = probe->mounts();
  ASSERT_FALSE(mounts.empty());
  struct stat st {};
  ASSERT_EQ(stat("/", &st), 0);
  DeviceFacts root = probe->probe(st.st_dev, nullptr);
  EXPECT_FALSE(root.key.empty());
  EXPECT_FALSE(root.name.empty());
  if (stat("/dev/shm", &st) == 0) {
    auto shm = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) { return m.st_dev == st.st_dev; });
    if (shm != mounts.end() && shm->fs_type == "tmpfs") {
      DeviceFacts facts = probe->probe(st.st_dev, &*shm);
      EXPECT_EQ(facts.device_class, DeviceClass::ram);
      EXPECT_EQ(facts.key, "ram");
    }
  }
}

}  // namespace
}  // namespace spindle
