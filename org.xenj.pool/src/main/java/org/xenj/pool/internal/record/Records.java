package org.xenj.pool.internal.record;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.xenj.pool.api.PoolHost;

/**
 * The pool's records as JSON (so {@code zkCli get} shows them as they are), each tagged with its
 * format and version. Decoding trusts nothing: any record another host, an older xenj or a person
 * wrote by hand is checked field by field, and anything wrong is a {@link RecordException} naming
 * the field — never another exception.
 */
public final class Records {

    public static final String HOST_FORMAT = "xenj-pool-host/1";
    public static final String DOMAIN_FORMAT = "xenj-pool-domain/1";
    public static final String REQUEST_FORMAT = "xenj-pool-request/1";
    private static final Set<String> OPS = Set.of(PoolRequest.START, PoolRequest.MIGRATE);
    public static final String MIGRATION_FORMAT = "xenj-pool-migration/1";
    private static final Set<String> RESULTS = Set.of("", PoolRequest.OK, PoolRequest.ERROR);
    /** The xl key that asks for a restart elsewhere when the owner fails, and its values. */
    public static final String ON_HOST_FAILURE = "on_host_failure";
    public static final Set<String> HOST_FAILURE_ACTIONS = Set.of("restart", "none");
    /** Names are znode names and xl domain names: no '/', nothing a shell would trip on. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Set<String> STATES = Set.of(DomainRecord.STOPPED, DomainRecord.RUNNING, DomainRecord.PAUSED, DomainRecord.FENCED,
            DomainRecord.LOST, DomainRecord.CRASHED);
    /** ZooKeeper's own cap on a znode (jute.maxbuffer) is 1 MiB; a domain record is a few KiB. */
    private static final int MAX_RECORD = 256 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Records() {
    }

    public static boolean validName(String s) {
        return s != null && NAME.matcher(s).matches();
    }

    public static String checkName(String what, String s) {
        if (!validName(s)) {
            throw new IllegalArgumentException(what + " '" + s + "' is not a valid name (letters, digits, '.', '_', '-'; at most 64)");
        }
        return s;
    }

    // ------------------------------------------------------------------ hosts

    public static byte[] encodeHost(PoolHost h) {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", HOST_FORMAT);
        o.put("name", h.name());
        o.put("address", h.address());
        o.put("pcpus", h.pcpus());
        o.put("freeMemoryKiB", h.freeMemoryKiB());
        o.put("version", h.version());
        o.put("updatedMillis", h.updatedMillis());
        return bytes(o);
    }

    public static PoolHost decodeHost(byte[] data) throws RecordException {
        ObjectNode o = parse(data, HOST_FORMAT);
        String name = name(o, "name");
        return new PoolHost(name, text(o, "address", 255), (int) number(o, "pcpus", 1, 4096),
                number(o, "freeMemoryKiB", 0, Long.MAX_VALUE / 2), text(o, "version", 64), number(o, "updatedMillis", 0, Long.MAX_VALUE));
    }

    // ------------------------------------------------------------------ domains

    public static byte[] encodeDomain(DomainRecord d) {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", DOMAIN_FORMAT);
        o.put("name", d.name());
        o.put("owner", d.owner());
        o.put("state", d.state());
        o.put("generation", d.generation());
        ObjectNode typed = o.putObject("config");
        DomainConfigCodec.typedKeys(d.config()).forEach(typed::put);
        ArrayNode disks = o.putArray("disks");
        d.config().disks().forEach(disks::add);
        ArrayNode vifs = o.putArray("vifs");
        d.config().vifs().forEach(vifs::add);
        ObjectNode raw = o.putObject("raw");
        d.config().raw().forEach(raw::put);
        return bytes(o);
    }

    public static DomainRecord decodeDomain(byte[] data) throws RecordException {
        ObjectNode o = parse(data, DOMAIN_FORMAT);
        String name = name(o, "name");
        String owner = text(o, "owner", 64);
        if (!owner.isEmpty() && !validName(owner)) {
            throw new RecordException("field 'owner': '" + owner + "' is not a host name");
        }
        String state = text(o, "state", 16);
        if (!STATES.contains(state)) {
            throw new RecordException("field 'state': unknown state '" + state + "' (expected one of " + STATES + ")");
        }
        long generation = number(o, "generation", 0, Long.MAX_VALUE / 2);
        var config = DomainConfigCodec.fromKeys(name, stringMap(o, "config"), stringList(o, "disks"), stringList(o, "vifs"),
                stringMap(o, "raw"));
        onHostFailure(config.raw());
        return new DomainRecord(config, owner, state, generation);
    }

    /**
     * The domain's {@code on_host_failure} action ({@code none} when absent), quotes of the xl
     * form removed; anything else is a RecordException naming the key.
     */
    public static String onHostFailure(java.util.Map<String, String> raw) throws RecordException {
        String v = raw.get(ON_HOST_FAILURE);
        if (v == null) {
            return "none";
        }
        String s = v.trim();
        if (s.length() >= 2 && (s.charAt(0) == '"' || s.charAt(0) == '\'') && s.charAt(s.length() - 1) == s.charAt(0)) {
            s = s.substring(1, s.length() - 1);
        }
        if (!HOST_FAILURE_ACTIONS.contains(s)) {
            throw new RecordException("config key '" + ON_HOST_FAILURE + "': '" + printable(s) + "' is not one of " + HOST_FAILURE_ACTIONS);
        }
        return s;
    }

    // ------------------------------------------------------------------ requests between hosts

    public static byte[] encodeRequest(PoolRequest r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", REQUEST_FORMAT);
        o.put("op", r.op());
        o.put("domain", r.domain());
        o.put("target", r.target());
        o.put("from", r.from());
        o.put("result", r.result());
        o.put("message", r.message());
        return bytes(o);
    }

    public static PoolRequest decodeRequest(byte[] data) throws RecordException {
        ObjectNode o = parse(data, REQUEST_FORMAT);
        String op = text(o, "op", 16);
        if (!OPS.contains(op)) {
            throw new RecordException("field 'op': unknown operation '" + printable(op) + "' (expected one of " + OPS + ")");
        }
        String result = text(o, "result", 16);
        if (!RESULTS.contains(result)) {
            throw new RecordException("field 'result': '" + printable(result) + "' is not ok, error or empty");
        }
        String target = text(o, "target", 64);
        if (!target.isEmpty() && !validName(target)) {
            throw new RecordException("field 'target': '" + printable(target) + "' is not a host name");
        }
        if (op.equals(PoolRequest.MIGRATE) && target.isEmpty()) {
            throw new RecordException("field 'target': a migrate request names its destination");
        }
        return new PoolRequest(op, name(o, "domain"), target, name(o, "from"), result, text(o, "message", 4096));
    }

    /** {@code /migrations/<domain>}: the owner {@code from} (at {@code generation}) hands the domain to {@code to}. */
    public record Migration(String domain, String from, String to, long generation) {
    }

    public static byte[] encodeMigration(Migration m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", MIGRATION_FORMAT);
        o.put("domain", m.domain());
        o.put("from", m.from());
        o.put("to", m.to());
        o.put("generation", m.generation());
        return bytes(o);
    }

    public static Migration decodeMigration(byte[] data) throws RecordException {
        ObjectNode o = parse(data, MIGRATION_FORMAT);
        return new Migration(name(o, "domain"), name(o, "from"), name(o, "to"), number(o, "generation", 1, Long.MAX_VALUE / 2));
    }

    // ------------------------------------------------------------------ checked reading

    private static byte[] bytes(ObjectNode o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write a record: " + e.getMessage(), e);
        }
    }

    private static ObjectNode parse(byte[] data, String format) throws RecordException {
        if (data == null || data.length == 0) {
            throw new RecordException("empty record (expected " + format + ")");
        }
        if (data.length > MAX_RECORD) {
            throw new RecordException("record of " + data.length + " bytes is larger than " + MAX_RECORD);
        }
        JsonNode n;
        try {
            n = JSON.readTree(data);
        } catch (JacksonException e) {
            throw new RecordException("not JSON: " + printable(e.getOriginalMessage(), 120));
        } catch (java.io.IOException e) {
            throw new RecordException("unreadable: " + e.getMessage());
        }
        if (!(n instanceof ObjectNode o)) {
            throw new RecordException("not a JSON object (expected " + format + ")");
        }
        JsonNode f = o.get("format");
        if (f == null || !f.isTextual()) {
            throw new RecordException("field 'format' is missing (expected " + format + ")");
        }
        if (!f.asText().equals(format)) {
            throw new RecordException("format '" + printable(f.asText()) + "' is not " + format
                    + (f.asText().startsWith(format.substring(0, format.indexOf('/') + 1)) ? " (written by another xenj version)" : ""));
        }
        return o;
    }

    private static String name(ObjectNode o, String field) throws RecordException {
        String s = text(o, field, 64);
        if (!validName(s)) {
            throw new RecordException("field '" + field + "': '" + printable(s) + "' is not a valid name");
        }
        return s;
    }

    private static String text(ObjectNode o, String field, int max) throws RecordException {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            throw new RecordException("field '" + field + "' is missing");
        }
        if (!n.isTextual()) {
            throw new RecordException("field '" + field + "' is not a string");
        }
        String s = n.asText();
        if (s.length() > max) {
            throw new RecordException("field '" + field + "' is longer than " + max);
        }
        return s;
    }

    private static long number(ObjectNode o, String field, long min, long max) throws RecordException {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            throw new RecordException("field '" + field + "' is missing");
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new RecordException("field '" + field + "' is not an integer");
        }
        long v = n.asLong();
        if (v < min || v > max) {
            throw new RecordException("field '" + field + "': " + v + " is outside " + min + ".." + max);
        }
        return v;
    }

    private static Map<String, String> stringMap(ObjectNode o, String field) throws RecordException {
        JsonNode n = o.get(field);
        if (!(n instanceof ObjectNode obj)) {
            throw new RecordException("field '" + field + "' is missing or not an object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new RecordException("field '" + field + "." + printable(e.getKey()) + "' is not a string");
            }
            m.put(e.getKey(), e.getValue().asText());
        }
        return m;
    }

    private static List<String> stringList(ObjectNode o, String field) throws RecordException {
        JsonNode n = o.get(field);
        if (!(n instanceof ArrayNode arr)) {
            throw new RecordException("field '" + field + "' is missing or not a list");
        }
        List<String> l = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            if (!arr.get(i).isTextual()) {
                throw new RecordException("field '" + field + "[" + i + "]' is not a string");
            }
            l.add(arr.get(i).asText());
        }
        return l;
    }

    /** Hand-written records may hold anything: error messages show at most 40 printable characters. */
    static String printable(String s) {
        return printable(s, 40);
    }

    static String printable(String s, int max) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return s.length() > max ? b + "…" : b.toString();
    }

    public static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
