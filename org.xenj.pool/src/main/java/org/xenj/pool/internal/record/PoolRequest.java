package org.xenj.pool.internal.record;

/**
 * A request from one host to another, in {@code /requests/<target>/r-<seq>}: the target does it
 * and writes the same record back with {@code result} set ({@code ok} or {@code error}) and a
 * message; the requester waits for that answer, then deletes the node.
 *
 * @param op      {@code start}: take the lease and run the domain here; {@code migrate}: live-migrate
 *                the domain this host owns to {@code target}
 * @param domain  the pool domain's name
 * @param target  for {@code migrate}, the destination member; else {@code ""}
 * @param from    the requesting host
 * @param result  {@code ""} while pending, then {@code ok} or {@code error}
 * @param message the answer's text (the error for a user)
 */
public record PoolRequest(String op, String domain, String target, String from, String result, String message) {

    public static final String START = "start";
    public static final String MIGRATE = "migrate";
    public static final String OK = "ok";
    public static final String ERROR = "error";

    public PoolRequest answer(String newResult, String newMessage) {
        return new PoolRequest(op, domain, target, from, newResult, newMessage);
    }

    public boolean answered() {
        return !result.isEmpty();
    }
}
