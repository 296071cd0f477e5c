package org.xenj.hypervisor.internal.xenabi;

/** Message types and error names of the xenstore wire protocol (io/xs_wire.h). */
public final class XsWire {

    private XsWire() {
    }

    public static final int XS_CONTROL = 0;
    public static final int XS_DIRECTORY = 1;
    public static final int XS_READ = 2;
    public static final int XS_GET_PERMS = 3;
    public static final int XS_WATCH = 4;
    public static final int XS_UNWATCH = 5;
    public static final int XS_TRANSACTION_START = 6;
    public static final int XS_TRANSACTION_END = 7;
    public static final int XS_INTRODUCE = 8;
    public static final int XS_RELEASE = 9;
    public static final int XS_GET_DOMAIN_PATH = 10;
    public static final int XS_WRITE = 11;
    public static final int XS_MKDIR = 12;
    public static final int XS_RM = 13;
    public static final int XS_SET_PERMS = 14;
    public static final int XS_WATCH_EVENT = 15;
    public static final int XS_ERROR = 16;
    public static final int XS_IS_DOMAIN_INTRODUCED = 17;
    public static final int XS_RESUME = 18;
    public static final int XS_SET_TARGET = 19;
    public static final int XS_RESET_WATCHES = 21;
    public static final int XS_DIRECTORY_PART = 22;
}
