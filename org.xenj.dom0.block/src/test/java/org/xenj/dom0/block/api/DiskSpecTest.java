package org.xenj.dom0.block.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** xl-disk-configuration(5), form by form, and every refusal naming its field. */
class DiskSpecTest {

    private static DiskSpec disk(String target, ImageFormat f, String vdev, boolean ro, boolean cdrom) {
        return new DiskSpec(target, f, vdev, ro, cdrom, List.of());
    }

    private static DiskSpec parse(String s) {
        DiskSpec d = DiskSpec.parse(s);
        return new DiskSpec(d.target(), d.format(), d.vdev(), d.readOnly(), d.cdrom(), List.of());
    }

    @Test
    void positionalForm() {
        assertEquals(disk("/img/a.qcow2", ImageFormat.QCOW2, "xvda", false, false), parse("/img/a.qcow2,qcow2,xvda,rw"));
        assertEquals(disk("/img/a.raw", ImageFormat.RAW, "xvdb", true, false), parse("/img/a.raw,raw,xvdb,ro"));
        assertEquals(disk("/img/a.raw", ImageFormat.RAW, "hda", false, false), parse("/img/a.raw,,hda"));
        assertEquals(disk("/img/a.raw", ImageFormat.RAW, "sda", true, false), parse("/img/a.raw, raw, sda, r"));
        assertEquals(disk("/img/a.raw", ImageFormat.RAW, "sda", false, false), parse("/img/a.raw,raw,sda,w"));
    }

    @Test
    void theManPagesEquivalentSpellingsAgree() {
        DiskSpec volume = disk("/dev/vg/guest-volume", ImageFormat.RAW, "hda", false, false);
        for (String s : List.of("/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume,raw,hda,rw",
                "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "raw:/dev/vg/guest-volume,hda,w")) {
            assertEquals(volume, parse(s), s);
        }
        DiskSpec iso = disk("/root/image.iso", ImageFormat.RAW, "hdc", true, true);
        for (String s : List.of("/root/image.iso,,hdc,cdrom", "/root/image.iso,,hdc,,cdrom",
                "/root/image.iso,raw,hdc,devtype=cdrom", "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
                "raw:/root/image.iso,hdc:cdrom,ro")) {
            assertEquals(iso, parse(s), s);
        }
    }

    @Test
    void keyValueForm() {
        assertEquals(disk("/a b/c,d.img", ImageFormat.QCOW2, "xvdc", true, false),
                parse("vdev=xvdc, format=qcow2, access=ro, target=/a b/c,d.img"));
        assertEquals(disk("/x.img", ImageFormat.RAW, "xvda", false, false), parse("vdev=xvda,target=/x.img"));
        // target= takes the rest of the string, commas and all: here the vdev is part of the path.
        assertEquals("/x.img,vdev=xvda,cdrom", parse("cdrom,vdev=xvdb,target=/x.img,vdev=xvda,cdrom").target());
        assertEquals(disk("/x.img", ImageFormat.QCOW2, "xvda", false, false), parse("vdev=xvda, /x.img, qcow2"));
    }

    @Test
    void deprecatedPrefixesSetTheFormatAndAreNoted() {
        DiskSpec d = DiskSpec.parse("file:/srv/d.img,hda,w");
        assertEquals(disk("/srv/d.img", ImageFormat.RAW, "hda", false, false), parse("file:/srv/d.img,hda,w"));
        assertTrue(d.notes().get(0).contains("deprecated prefix 'file:'"), d.notes().toString());
        assertEquals(ImageFormat.QCOW2, DiskSpec.parse("tap:qcow2:/a.qcow2,xvda,w").format());
        assertEquals(ImageFormat.RAW, DiskSpec.parse("tap:aio:/a.img,xvda,w").format());
        assertEquals(ImageFormat.RAW, DiskSpec.parse("phy:/dev/sdb,xvda,w").format());
        assertEquals("/dev/sdb", DiskSpec.parse("phy:/dev/sdb,xvda,w").target());
    }

    @Test
    void defaults() {
        DiskSpec d = DiskSpec.parse("/a.img,,xvda");
        assertEquals(ImageFormat.RAW, d.format());
        assertFalse(d.readOnly(), "access defaults to rw");
        assertFalse(d.cdrom());
        assertTrue(DiskSpec.parse("/a.iso,,hdc,devtype=cdrom").readOnly(), "a CD-ROM defaults to ro");
        assertEquals("", DiskSpec.parse(",,hdc,cdrom").target(), "an empty CD-ROM drive");
    }

    @Test
    void ignoredParametersAreNoted() {
        DiskSpec d = DiskSpec.parse("/a.img,raw,xvda,rw,backendtype=qdisk,discard,script=block");
        assertEquals(3, d.notes().size(), d.notes().toString());
        assertTrue(d.notes().get(0).contains("backendtype=qdisk ignored"), d.notes().toString());
    }

    @Test
    void canonicalFormParsesBack() {
        for (String s : List.of("/img/a.qcow2,qcow2,xvda,rw", "/root/image.iso,,hdc,cdrom", "vdev=sdb,target=/x,y")) {
            DiskSpec d = parse(s);
            assertEquals(d, parse(d.toSpecString()), d.toSpecString());
        }
        assertEquals("format=qcow2, vdev=xvda, access=rw, target=/img/a.qcow2",
                DiskSpec.parse("/img/a.qcow2,qcow2,xvda,rw").toSpecString());
    }

    @ParameterizedTest
    @CsvSource({"xvda,51712", "xvdb,51728", "xvda1,51713", "xvdp,51952", "xvdq,268439552", "xvdaa,268442112",
            "hda,768", "hdb,832", "hdc,5632", "hdd,5696", "sda,2048", "sdb1,2065", "d0p1,51713", "d16,268439552"})
    void deviceNumbersFollowXenVbdInterface(String vdev, int number) {
        assertEquals(number, DiskSpec.parse("/a," + "," + vdev).deviceNumber());
    }

    private static DiskSpecException fails(String spec) {
        return assertThrows(DiskSpecException.class, () -> DiskSpec.parse(spec));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/a.img,vmdk,xvda|format", "/a.img,vhd,xvda|format", "/a.img,raw,xvda,rx|access",
            "/a.img,raw,floppy0|vdev", "/a.img,raw,hde|vdev", "/a.img,raw,xvda,rw,extra|",
            "/a.img,raw|vdev", ",raw,xvda|target", "/a.iso,raw,hdc,rw,devtype=cdrom|access",
            "/a.img,raw,xvda,devtype=floppy|devtype", "/a.img,raw,xvda,backendtype=nbd|backendtype",
            "/a.img,raw,xvda,colour=blue|colour", "/a.img,raw,vdev=xvda,xvdb|access", "format=raw,format=qcow2,xvda|format",
            "/a.img,qcow2,vdev=xvda,format=raw|format", "/a.img,raw,xvda,devtype=cdrom,cdrom|devtype",
            "/a.img,raw,xvda1000|vdev", "/a.img,raw,hda64|vdev"})
    void errorsNameTheField(String spec, String field) {
        DiskSpecException e = fails(spec);
        assertEquals(field == null ? null : field, e.field(), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   "})
    void emptySpecsAreRefused(String spec) {
        assertTrue(fails(spec).getMessage().contains("empty"));
    }

    @Test
    void messagesSayWhatIsWrong() {
        assertEquals("'format': 'vhd' is an xl format xenj does not serve (raw, qcow2)", fails("/a,vhd,xvda").getMessage());
        assertEquals("'vdev': missing: every disk needs a virtual device name (e.g. xvda, hda)", fails("/a").getMessage());
        assertTrue(fails("/a,raw,xvda,ro,w").getMessage().contains("too many positional parameters at 'w'"));
    }
}
