package org.xenj.sched.credit.internal;

/** Turns the strings of the parameter maps into numbers, with messages that name the key. */
final class ParamParser {

    private ParamParser() {
    }

    static int parseInt(String scheduler, String key, String value) {
        if (value == null) {
            throw new IllegalArgumentException(scheduler + ": " + key + " needs a value");
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(scheduler + ": " + key + " must be an integer, got '" + value + "'");
        }
    }
}
