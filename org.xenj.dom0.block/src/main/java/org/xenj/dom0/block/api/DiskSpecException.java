package org.xenj.dom0.block.api;

/** A disk spec xl would refuse; {@link #field()} names the parameter at fault. */
public class DiskSpecException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public DiskSpecException(String field, String problem) {
        super(field == null ? problem : "'" + field + "': " + problem);
        this.field = field;
    }

    /** {@code target}, {@code format}, {@code vdev}, {@code access}, {@code devtype}, or a key as written. */
    public String field() {
        return field;
    }
}
