package org.xenj.dom0.toolstack.internal.xlcfg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class XlConfigReaderTest {

    private static Map<String, XlSetting> read(String text) {
        return XlConfigReader.read("t.cfg", text);
    }

    @Test
    void readsStringsNumbersAndListsWithTheirLines() {
        Map<String, XlSetting> s = read("# a guest\nname = \"web\"\nmemory=512 # MiB\n"
                + "disk = [ 'file:/a.img,xvda,w',\n   \"file:/b.img,xvdb,r\", ]\nvcpus = 2\n");
        assertEquals(List.of("name", "memory", "disk", "vcpus"), List.copyOf(s.keySet()));
        assertEquals(XlValue.string("web"), s.get("name").value());
        assertEquals(2, s.get("name").line());
        assertEquals(XlValue.number("512"), s.get("memory").value());
        assertEquals(List.of("file:/a.img,xvda,w", "file:/b.img,xvdb,r"), s.get("disk").value().items());
        assertEquals(4, s.get("disk").line());
        assertEquals(6, s.get("vcpus").line());
    }

    @Test
    void semicolonsSeparateSettingsAndLaterSettingsWin() {
        Map<String, XlSetting> s = read("a = 1; b = 'x';;\na = 2\n");
        assertEquals("2", s.get("a").value().text());
        assertEquals(2, s.get("a").line());
        assertEquals("x", s.get("b").value().text());
    }

    @Test
    void escapesInStrings() {
        Map<String, XlSetting> s = read("c = \"a\\\"b\\\\c\\n\\x41'\"\nd = 'it\\'s'\n");
        assertEquals("a\"b\\c\nA'", s.get("c").value().text());
        assertEquals("it's", s.get("d").value().text());
    }

    @Test
    void plusEqualsAppendsToListsAndStrings() {
        Map<String, XlSetting> s = read("vif = ['a']\nvif += ['b']\nextra = 'x'\nextra += ' y'\n");
        assertEquals(List.of("a", "b"), s.get("vif").value().items());
        assertEquals("x y", s.get("extra").value().text());
    }

    @Test
    void emptyFileAndCommentOnlyFileHaveNoSettings() {
        assertTrue(read("").isEmpty());
        assertTrue(read("# nothing\n\n   \n# more\n").isEmpty());
    }

    @Test
    void hexNumbersAndCrlfLineEndings() {
        Map<String, XlSetting> s = read("memory = 0x200\r\nvcpus = 1\r\n");
        assertEquals("0x200", s.get("memory").value().text());
        assertEquals(2, s.get("vcpus").line());
    }

    @Test
    void unterminatedStringNamesLineAndKey() {
        XlConfigException e = assertThrows(XlConfigException.class, () -> read("name = 'ok'\n\nkernel = \"/boot/vmlinuz\n"));
        assertEquals(3, e.line());
        assertEquals("kernel", e.key());
        assertEquals("t.cfg:3: key 'kernel': string is missing its closing \"", e.getMessage());
    }

    @Test
    void unclosedListNamesTheLineItOpened() {
        XlConfigException e = assertThrows(XlConfigException.class, () -> read("a=1\ndisk = [ 'x',\n 'y'\n"));
        assertEquals(2, e.line());
        assertEquals("disk", e.key());
        assertTrue(e.getMessage().contains("never closed"), e.getMessage());
    }

    @Test
    void bareWordValueIsAnError() {
        XlConfigException e = assertThrows(XlConfigException.class, () -> read("name = web\n"));
        assertEquals(1, e.line());
        assertEquals("name", e.key());
        assertTrue(e.getMessage().contains("expected a value"), e.getMessage());
    }

    @Test
    void numberFollowedByLettersIsAnError() {
        XlConfigException e = assertThrows(XlConfigException.class, () -> read("\nmemory = 512M\n"));
        assertEquals(2, e.line());
        assertEquals("memory", e.key());
        assertTrue(e.getMessage().contains("\"512M\" is not a number"), e.getMessage());
    }

    @Test
    void missingEqualsAndMissingValueAndTrailingGarbage() {
        XlConfigException a = assertThrows(XlConfigException.class, () -> read("memory 512\n"));
        assertEquals("memory", a.key());
        assertTrue(a.getMessage().contains("expected '='"));
        XlConfigException b = assertThrows(XlConfigException.class, () -> read("x=1\nmemory =\n"));
        assertEquals(2, b.line());
        assertTrue(b.getMessage().contains("missing value"));
        XlConfigException c = assertThrows(XlConfigException.class, () -> read("name = 'a' 'b'\n"));
        assertTrue(c.getMessage().contains("after the value"));
    }

    @Test
    void keyMustStartWithALetter() {
        XlConfigException e = assertThrows(XlConfigException.class, () -> read("ok=1\n= 3\n"));
        assertEquals(2, e.line());
        assertEquals(null, e.key());
        assertEquals("t.cfg:2: expected a key name, found '='", e.getMessage());
    }

    @Test
    void nestedListsAndBadEscapesAreRefused() {
        assertThrows(XlConfigException.class, () -> read("a = [ [ 'x' ] ]\n"));
        assertThrows(XlConfigException.class, () -> read("a = '\\q'\n"));
        assertThrows(XlConfigException.class, () -> read("a = [ 'x' 'y' ]\n"));
        assertThrows(XlConfigException.class, () -> read("a = [ foo ]\n"));
    }

    @Test
    void overridesTakeXlSyntaxOrPlainWords() {
        Map<String, XlSetting> s = new LinkedHashMap<>(read("name = 'a'\nvif = ['x']\n"));
        XlConfigReader.readOverride("command line", "name=web1", s);
        XlConfigReader.readOverride("command line", "memory=256", s);
        XlConfigReader.readOverride("command line", "vif+=['y']", s);
        XlConfigReader.readOverride("command line", "cmdline=\"console=ttyS0 quiet\"", s);
        assertEquals(XlValue.string("web1"), s.get("name").value());
        assertEquals(XlValue.number("256"), s.get("memory").value());
        assertEquals(List.of("x", "y"), s.get("vif").value().items());
        assertEquals("console=ttyS0 quiet", s.get("cmdline").value().text());
        assertEquals(0, s.get("memory").line());
    }

    @Test
    void overrideWithoutEqualsOrWithBadKeyIsRefused() {
        Map<String, XlSetting> s = new LinkedHashMap<>();
        XlConfigException a = assertThrows(XlConfigException.class, () -> XlConfigReader.readOverride("command line", "memory", s));
        assertTrue(a.getMessage().startsWith("command line: "), a.getMessage());
        assertThrows(XlConfigException.class, () -> XlConfigReader.readOverride("command line", "=5", s));
        assertThrows(XlConfigException.class, () -> XlConfigReader.readOverride("command line", "9x=5", s));
        assertTrue(s.isEmpty());
    }

    @Test
    void rawFormQuotesListItems() {
        assertEquals("[\"a,b\", \"c\\\"d\"]", XlValue.list(List.of("a,b", "c\"d")).rawForm());
        assertEquals("plain", XlValue.string("plain").rawForm());
    }
}
