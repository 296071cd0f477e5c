package org.xenj.hypervisor.internal.migrate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.SaveFormatException;

/**
 * Mutual challenge-response over the migration connection with a secret both hosts are
 * configured with ({@code xenj.migrate.secret}): each side sends 32 random bytes and proves it
 * knows the secret with HMAC-SHA256 over both challenges and its role, so the secret never crosses
 * the wire, a recorded exchange cannot be replayed, and a sender learns it talks to a real
 * receiver before it sends any guest memory. Over TLS ({@link MigrationTls}) the proofs also cover
 * {@code binding}, the two ends' certificate fingerprints, which ties the secret to this very TLS
 * session; without TLS ({@code xenj.migrate.tls=false}) the binding is empty and the stream is in
 * the clear.
 */
public final class MigrationAuth {

    private static final SecureRandom RANDOM = new SecureRandom();

    private MigrationAuth() {
    }

    /** Thrown when the peer cannot prove it knows the secret. */
    public static final class AuthException extends Exception {
        private static final long serialVersionUID = 1L;

        AuthException(String message) {
            super(message);
        }
    }

    /** The TLS channel binding: the sender's certificate fingerprint, then the receiver's. */
    public static byte[] binding(byte[] senderFingerprint, byte[] receiverFingerprint) {
        byte[] b = new byte[senderFingerprint.length + receiverFingerprint.length];
        System.arraycopy(senderFingerprint, 0, b, 0, senderFingerprint.length);
        System.arraycopy(receiverFingerprint, 0, b, senderFingerprint.length, receiverFingerprint.length);
        return b;
    }

    static byte[] challenge() {
        byte[] c = new byte[32];
        RANDOM.nextBytes(c);
        return c;
    }

    static byte[] proof(byte[] secret, String role, byte[] first, byte[] second, byte[] binding) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(("xenj-migrate " + role).getBytes(StandardCharsets.US_ASCII));
            mac.update(first);
            mac.update(second);
            mac.update(binding);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available: " + e, e);
        }
    }

    /** Sender side, right after connecting; {@code binding}: what {@link #binding} gives, or empty without TLS. */
    public static void asSender(RecordStream.Reader in, MigrationStream.Out out, byte[] secret, byte[] binding)
            throws IOException, SaveFormatException, AuthException {
        RecordStream.Record hello = in.next();
        if (hello == null || hello.type() != MigrationStream.HELLO) {
            throw new SaveFormatException("the peer did not greet as a xenj migration receiver");
        }
        byte[] theirs = MigrationStream.parseHello(hello.payload());
        byte[] mine = challenge();
        out.raw(MigrationStream.AUTH, MigrationStream.twoBlobs(mine, proof(secret, "sender", theirs, mine, binding)));
        out.flush();
        RecordStream.Record ok = in.next();
        if (ok != null && ok.type() == MigrationStream.STATUS) {
            throw new AuthException("the receiver refused: " + MigrationStream.parseStatus(ok.payload()).message());
        }
        if (ok == null || ok.type() != MigrationStream.AUTH_OK) {
            throw new AuthException("the receiver did not answer the authentication");
        }
        byte[] proof = MigrationStream.parseBlob(ok.payload(), "the receiver's proof");
        if (!MessageDigest.isEqual(proof, proof(secret, "receiver", mine, theirs, binding))) {
            throw new AuthException("the receiver does not know the migration secret");
        }
    }

    /** Receiver side, right after accepting; {@code binding} as for {@link #asSender}. */
    public static void asReceiver(RecordStream.Reader in, MigrationStream.Out out, byte[] secret, byte[] binding)
            throws IOException, SaveFormatException, AuthException {
        byte[] mine = challenge();
        out.raw(MigrationStream.HELLO, MigrationStream.hello(mine));
        out.flush();
        RecordStream.Record auth = in.next();
        if (auth == null || auth.type() != MigrationStream.AUTH) {
            throw new AuthException("the peer sent no authentication");
        }
        byte[][] p = MigrationStream.parseTwoBlobs(auth.payload(), "the sender's authentication");
        if (p[0].length != 32 || !MessageDigest.isEqual(p[1], proof(secret, "sender", mine, p[0], binding))) {
            throw new AuthException("the sender does not know the migration secret");
        }
        out.raw(MigrationStream.AUTH_OK, MigrationStream.blob(proof(secret, "receiver", p[0], mine, binding)));
        out.flush();
    }
}
