package org.xenj.dom0.toolstack.internal.xlcfg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;

class DomainConfigMapperTest {

    @TempDir
    Path dir;

    private Path file(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private DomainConfig load(String text, String... overrides) throws IOException {
        return XlConfigLoader.load(file("g.cfg", text), List.of(overrides));
    }

    private XlConfigException fails(String text, String... overrides) throws IOException {
        Path f = file("bad.cfg", text);
        return assertThrows(XlConfigException.class, () -> XlConfigLoader.load(f, List.of(overrides)));
    }

    @Test
    void onHostFailureRestartIsKeptForThePool() throws IOException {
        DomainConfig c = load("name = \"web\"\non_host_failure = \"restart\"\n");
        assertEquals("restart", c.raw().get("on_host_failure"));
    }

    @Test
    void fullHvmFile() throws IOException {
        DomainConfig c = load("""
                name = "debian"
                type = "hvm"
                memory = 256
                maxmem = 512
                vcpus = 2
                kernel = "guest/bzImage"
                ramdisk = "/abs/initrd.gz"
                cmdline = "console=ttyS0"
                extra = "quiet"
                disk = [ "file:/srv/d.img,hda,w" ]
                vif = [ "mac=00:16:3e:00:00:01,bridge=xenbr0" ]
                on_poweroff = "destroy"
                on_reboot = "restart"
                on_crash = "preserve"
                cpu_weight = 512
                cap = 50
                pool = "fast"
                cpus = "0-1"
                serial = "pty"
                """);
        assertEquals("debian", c.name());
        assertEquals(DomainType.HVM, c.type());
        assertEquals(256, c.memoryMiB());
        assertEquals(512, c.maxMemoryMiB());
        assertEquals(2, c.vcpus());
        assertEquals(dir.resolve("guest/bzImage").toString(), c.kernel());
        assertEquals("/abs/initrd.gz", c.ramdisk());
        assertEquals("console=ttyS0 quiet", c.cmdline());
        assertEquals(List.of("format=raw, vdev=hda, access=rw, target=/srv/d.img"), c.disks());
        assertEquals(List.of("mac=00:16:3e:00:00:01,bridge=xenbr0"), c.vifs());
        assertEquals(ShutdownAction.DESTROY, c.onPoweroff());
        assertEquals(ShutdownAction.RESTART, c.onReboot());
        assertEquals(ShutdownAction.PRESERVE, c.onCrash());
        assertEquals(512, c.cpuWeight());
        assertEquals(50, c.cap());
        assertEquals("fast", c.pool());
        assertEquals("0-1", c.cpus());
        assertEquals("pty", c.raw().get("serial"));
        assertEquals("256", c.raw().get("memory"));
        assertEquals("[\"file:/srv/d.img,hda,w\"]", c.raw().get("disk"));
    }

    @Test
    void defaultsFollowXl() throws IOException {
        DomainConfig c = load("name = 'tiny'\n");
        assertEquals(DomainType.HVM, c.type());
        assertEquals(128, c.memoryMiB());
        assertEquals(1, c.vcpus());
        assertEquals(256, c.cpuWeight());
        assertEquals(0, c.cap());
        assertEquals("Pool-0", c.pool());
        assertEquals("", c.cmdline());
        assertNull(c.kernel());
    }

    /** A firmware-booted HVM file: bios_path_override= relative to the file like kernel=; boot= reaches qemu-dm as its string. */
    @Test
    void biosPathOverrideIsResolvedAgainstTheFile() throws IOException {
        DomainConfig c = load("name = 'fw'\ntype = 'hvm'\nbios_path_override = 'fw/bios.bin'\nboot = \"d\"\n");
        assertNull(c.kernel());
        assertEquals(dir.resolve("fw/bios.bin").toString(), c.raw().get("bios_path_override"));
        assertEquals("d", c.raw().get("boot"));
    }

    @Test
    void legacyBuilderAndRootPlusExtra() throws IOException {
        DomainConfig hvm = load("name='a'\nbuilder = 'hvm'\n");
        assertEquals(DomainType.HVM, hvm.type());
        DomainConfig pv = load("name='a'\nbuilder='generic'\nkernel='/k'\nroot='/dev/xvda1 ro'\nextra='console=hvc0'\n");
        assertEquals(DomainType.PV, pv.type());
        assertEquals("root=/dev/xvda1 ro console=hvc0", pv.cmdline());
    }

    @Test
    void workloadDomains() throws IOException {
        DomainConfig w = load("name='w'\ntype='workload'\nworkload='duty:30'\n");
        assertEquals(DomainType.WORKLOAD, w.type());
        assertEquals("duty:30", w.workload());
        assertEquals(DomainType.WORKLOAD, load("name='w'\nworkload='spin'\n").type());
    }

    @Test
    void overridesWinOverTheFile() throws IOException {
        DomainConfig c = load("name='a'\nmemory=128\nvcpus=1\n", "name=b", "memory=64", "vcpus=2", "extra=single");
        assertEquals("b", c.name());
        assertEquals(64, c.memoryMiB());
        assertEquals(2, c.vcpus());
        assertEquals("single", c.cmdline());
        assertEquals("b", c.raw().get("name"));
    }

    @Test
    void configFromOverridesAlone() {
        DomainConfig c = XlConfigLoader.fromOverrides(List.of("name=w1", "type=workload", "memory=16"));
        assertEquals("w1", c.name());
        assertEquals(16, c.memoryMiB());
        XlConfigException e = assertThrows(XlConfigException.class, () -> XlConfigLoader.fromOverrides(List.of("name=w", "memory=x")));
        assertEquals("command line: key 'memory': expected a number of MiB, got \"x\"", e.getMessage());
    }

    @Test
    void cpusAcceptsStringNumberAndList() throws IOException {
        assertEquals("2", load("name='a'\ncpus=2\n").cpus());
        assertEquals("0,2-3", load("name='a'\ncpus=['0', '2-3']\n").cpus());
        assertEquals("all,^1", load("name='a'\ncpus='all,^1'\n").cpus());
    }

    @Test
    void badMemoryNamesFileLineAndKey() throws IOException {
        XlConfigException e = fails("name = 'a'\n\nmemory = 'lots'\n");
        assertEquals(dir.resolve("bad.cfg") + ":3: key 'memory': expected a number of MiB, got \"lots\"", e.getMessage());
        assertEquals(3, e.line());
        assertEquals("memory", e.key());
    }

    @Test
    void everyCheckedKeyRefusesBadValues() throws IOException {
        assertEquals("vcpus", fails("name='a'\nvcpus=0\n").key());
        assertEquals("vcpus", fails("name='a'\nvcpus=129\n").key());
        assertEquals("memory", fails("name='a'\nmemory=-5\n").key());
        assertEquals("maxmem", fails("name='a'\nmemory=256\nmaxmem=128\n").key());
        assertEquals("cpu_weight", fails("name='a'\ncpu_weight=70000\n").key());
        assertEquals("cap", fails("name='a'\ncap=-1\n").key());
        assertEquals("on_crash", fails("name='a'\non_crash='explode'\n").key());
        XlConfigException hostFailure = fails("name='a'\non_host_failure='reboot'\n");
        assertEquals("on_host_failure", hostFailure.key());
        assertTrue(hostFailure.getMessage().contains("\"reboot\" is not an on_host_failure action"), hostFailure.getMessage());
        assertEquals("type", fails("name='a'\ntype='vmware'\n").key());
        assertEquals("builder", fails("name='a'\nbuilder='qemu'\n").key());
        assertEquals("cpus", fails("name='a'\ncpus='3-1'\n").key());
        assertEquals("cpus", fails("name='a'\ncpus='zero'\n").key());
        assertEquals("workload", fails("name='a'\nworkload='duty:150'\n").key());
        assertEquals("name", fails("name='has space'\n").key());
        assertEquals("name", fails("name='Domain-0'\n").key());
        assertEquals("name", fails("name=['a','b']\n").key());
        assertEquals("pool", fails("name='a'\npool=' '\n").key());
        assertEquals("disk", fails("name='a'\ndisk=['']\n").key());
        assertEquals("debug_exit", fails("name='a'\ndebug_exit='yes'\n").key());
        assertEquals("debug_exit", fails("name='a'\ndebug_exit=0x12345\n").key());
    }

    @Test
    void displayKeysAreCheckedAndKeptForQemuDmAndVnc() throws IOException {
        DomainConfig c = load("name='v'\nvga='stdvga'\nvnc=1\nvncdisplay=3\nvncpasswd='pw'\nvnclisten='0.0.0.0'\n");
        assertEquals("stdvga", c.raw().get("vga"));
        assertEquals("3", c.raw().get("vncdisplay"));
        assertEquals("vga", fails("name='a'\nvga='matrox'\n").key());
        assertEquals("vnc", fails("name='a'\nvnc=2\n").key());
        assertEquals("vncdisplay", fails("name='a'\nvncdisplay=100\n").key());
    }

    @Test
    void diskSpecsAreParsedAndKeptInCanonicalForm() throws IOException {
        DomainConfig c = load("""
                name = 'disks'
                disk = [ '/img/a.qcow2,qcow2,xvda,rw',
                         'vdev=xvdb, access=ro, target=data.img',
                         'format=raw, vdev=hdc, devtype=cdrom, target=/iso/d,1.iso',
                         ',,hdd,cdrom',
                         'file:/srv/old.img,sda,w',
                         '/b.img,raw,xvdc,rw,backendtype=qdisk' ]
                """);
        assertEquals(List.of("format=qcow2, vdev=xvda, access=rw, target=/img/a.qcow2",
                "format=raw, vdev=xvdb, access=ro, target=" + dir.resolve("data.img"),
                "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/iso/d,1.iso",
                "format=raw, vdev=hdd, access=ro, devtype=cdrom, target=",
                "format=raw, vdev=sda, access=rw, target=/srv/old.img",
                "format=raw, vdev=xvdc, access=rw, target=/b.img"), c.disks());
        assertEquals(List.of("format=qcow2, vdev=xvda, access=rw, target=/img/a.qcow2"),
                load("name='o'\n", "disk=['/img/a.qcow2,qcow2,xvda']").disks(), "overrides parse the same way");
    }

    @Test
    void badDiskSpecsNameFileLineKeyAndField() throws IOException {
        String head = dir.resolve("bad.cfg") + ":3: key 'disk': ";
        assertEquals(head + "disk 2 \"/b.img,vhd,xvdb\": 'format': 'vhd' is an xl format xenj does not serve (raw, qcow2)",
                fails("name='a'\n\ndisk=['/a.img,,xvda', '/b.img,vhd,xvdb']\n").getMessage());
        assertEquals(head + "disk 1 \"/a.img,raw,xvda,rwx\": 'access': 'rwx' is not ro, r, rw or w",
                fails("name='a'\n\ndisk=['/a.img,raw,xvda,rwx']\n").getMessage());
        assertEquals(head + "disk 1 \"/a.img,raw\": 'vdev': missing: every disk needs a virtual device name (e.g. xvda, hda)",
                fails("name='a'\n\ndisk=['/a.img,raw']\n").getMessage());
        assertEquals(head + "disk 1 \"/a.img,raw,floppy\": 'vdev': 'floppy' is not a virtual device name "
                + "(xvd<letters>[n], hd[a-d][n], sd<letters>[n] or d<disk>[p<partition>])",
                fails("name='a'\n\ndisk=['/a.img,raw,floppy']\n").getMessage());
        assertEquals(head + "disk 2 \"/b.img,,d0\": 'vdev': d0 is the same guest device as disk 1",
                fails("name='a'\n\ndisk=['/a.img,,xvda', '/b.img,,d0']\n").getMessage());
        assertEquals(head + "disk 1 \"/a.img,raw,xvda,speed=fast\": 'speed': unknown parameter",
                fails("name='a'\n\ndisk=['/a.img,raw,xvda,speed=fast']\n").getMessage());
        assertEquals(head + "disk 1 \",raw,xvda\": 'target': missing: a disk needs an image file "
                + "(only a CD-ROM drive may be empty)", fails("name='a'\n\ndisk=[',raw,xvda']\n").getMessage());
        XlConfigException override = fails("name='a'\n", "disk=['/a.img,qcow3,xvda']");
        assertEquals("command line: key 'disk': disk 1 \"/a.img,qcow3,xvda\": 'format': 'qcow3' is not a disk format "
                + "(raw, qcow2)", override.getMessage());
    }

    @Test
    void missingNameAndPvWithoutKernel() throws IOException {
        XlConfigException noName = fails("memory = 64\n");
        assertEquals("name", noName.key());
        assertEquals(0, noName.line());
        assertTrue(noName.getMessage().startsWith(dir.resolve("bad.cfg") + ": key 'name': missing"), noName.getMessage());
        XlConfigException noKernel = fails("name='p'\ntype='pv'\n");
        assertEquals("kernel", noKernel.key());
        assertEquals(2, noKernel.line());
        assertEquals("ramdisk", fails("name='p'\nramdisk='/r'\n").key());
    }

    @Test
    void fileProblemsAreClearErrors() throws IOException {
        XlConfigException missing = assertThrows(XlConfigException.class,
                () -> XlConfigLoader.load(dir.resolve("nope.cfg"), List.of()));
        assertEquals(dir.resolve("nope.cfg") + ": no such file", missing.getMessage());
        assertThrows(XlConfigException.class, () -> XlConfigLoader.load(dir, List.of()));
        Path binary = dir.resolve("bin.cfg");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        XlConfigException notText = assertThrows(XlConfigException.class, () -> XlConfigLoader.load(binary, List.of()));
        assertTrue(notText.getMessage().endsWith("is not UTF-8 text"));
        Path huge = dir.resolve("huge.cfg");
        Files.write(huge, new byte[(int) XlConfigLoader.MAX_FILE_BYTES + 1]);
        assertThrows(XlConfigException.class, () -> XlConfigLoader.load(huge, List.of()));
    }

    @Test
    void badOverrideNamesTheCommandLine() throws IOException {
        XlConfigException e = fails("name='a'\n", "vcpus=many");
        assertEquals("command line: key 'vcpus': expected a number of vCPUs, got \"many\"", e.getMessage());
    }
}
