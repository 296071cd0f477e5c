package org.xenj.dom0.toolstack.internal.xlcfg;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.api.DomainConfig;

/** Reads an xl.cfg file, applies {@code key=value} overrides as {@code xl create} does, maps it. */
public final class XlConfigLoader {

    /** Configuration files are small; anything bigger is a mistake (wrong file), not a config. */
    static final long MAX_FILE_BYTES = 1 << 20;
    static final String COMMAND_LINE = "command line";

    private XlConfigLoader() {
    }

    public static DomainConfig load(Path file, List<String> overrides) {
        Map<String, XlSetting> settings = readSettings(file, overrides);
        return DomainConfigMapper.map(settings, file.toAbsolutePath().getParent(), file.toString());
    }

    /** Only overrides, no file: {@code xen:create name=x type=workload}. */
    public static DomainConfig fromOverrides(List<String> overrides) {
        return DomainConfigMapper.map(overrideSettings(overrides), null, COMMAND_LINE);
    }

    public static Map<String, XlSetting> overrideSettings(List<String> overrides) {
        Map<String, XlSetting> settings = XlConfigReader.read(COMMAND_LINE, "");
        for (String o : overrides) {
            XlConfigReader.readOverride(COMMAND_LINE, o, settings);
        }
        return settings;
    }

    /**
     * What xl would accept but xenj ignores or reads in a deprecated way in the {@code disk} specs
     * (e.g. {@code backendtype=}, {@code phy:} prefixes), one line per note, for the user to see.
     * Call after {@link #load}/{@link #fromOverrides} accepted the settings.
     */
    public static List<String> diskNotes(Map<String, XlSetting> settings) {
        XlSetting disk = settings.get("disk");
        List<String> notes = new java.util.ArrayList<>();
        if (disk == null) {
            return notes;
        }
        List<String> items = disk.value().asItems();
        for (int i = 0; i < items.size(); i++) {
            try {
                for (String note : org.xenj.dom0.block.api.DiskSpec.parse(items.get(i)).notes()) {
                    notes.add(disk.where() + ": key 'disk': disk " + (i + 1) + ": " + note);
                }
            } catch (IllegalArgumentException e) {
                // refused by the mapper already; nothing to note
            }
        }
        return notes;
    }

    /** Settings of a file (any xl-syntax file, e.g. a cpupool's) with overrides applied. */
    public static Map<String, XlSetting> readSettings(Path file, List<String> overrides) {
        Map<String, XlSetting> settings = XlConfigReader.read(file.toString(), readText(file));
        for (String o : overrides) {
            XlConfigReader.readOverride(COMMAND_LINE, o, settings);
        }
        return settings;
    }

    static String readText(Path file) {
        String name = file.toString();
        try {
            if (Files.isDirectory(file)) {
                throw new XlConfigException(name, 0, null, "is a directory, not a configuration file");
            }
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new XlConfigException(name, 0, null, "is " + size + " bytes; a configuration file is at most "
                        + MAX_FILE_BYTES);
            }
            byte[] bytes = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new XlConfigException(name, 0, null, "no such file");
        } catch (CharacterCodingException e) {
            throw new XlConfigException(name, 0, null, "is not UTF-8 text");
        } catch (IOException e) {
            throw new XlConfigException(name, 0, null, "cannot be read: " + e.getMessage());
        }
    }
}
