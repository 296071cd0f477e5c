package org.xenj.hypervisor.internal.migrate;

import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Date;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * TLS 1.3 for the migration connection: guest memory, vCPU state and xenstore contents cross the
 * network encrypted and integrity-protected, as {@code xl migrate} over ssh would have them.
 *
 * <p>Trust does not come from a certificate authority: each end makes an ephemeral EC P-256 key and
 * a self-signed certificate (Bouncy Castle's builder, signed by the JDK's own provider), accepts
 * whatever certificate the other end shows, and then both prove with {@link MigrationAuth} that
 * they know the shared secret, over the two certificates' SHA-256 fingerprints. A relay in the
 * middle has to show each end a certificate of its own, so the fingerprints the two ends prove
 * over differ and each refuses the other's proof (channel binding in the manner of RFC 5929's
 * {@code tls-server-end-point}); the secret never crosses the wire. Both ends must have TLS on
 * ({@code xenj.migrate.tls}, default true).
 */
public final class MigrationTls {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String[] PROTOCOLS = {"TLSv1.3"};

    private final SSLContext context;
    private final byte[] fingerprint;

    private MigrationTls(SSLContext context, byte[] fingerprint) {
        this.context = context;
        this.fingerprint = fingerprint;
    }

    /** A fresh key and certificate (a few milliseconds once the classes are loaded). */
    public static MigrationTls create() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            KeyPair kp = g.generateKeyPair();
            X500Name name = new X500Name("CN=xenj migration");
            long now = System.currentTimeMillis();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(64, RANDOM).abs(),
                    new Date(now - 3_600_000L), new Date(now + 7L * 86_400_000L), name, kp.getPublic());
            X509Certificate cert = new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
            char[] pass = new char[0];
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("xenj", kp.getPrivate(), pass, new Certificate[] {cert});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, pass);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), new TrustManager[] {new AnyCertificate()}, RANDOM);
            return new MigrationTls(ctx, fingerprint(cert));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make the migration channel's TLS key: " + e, e);
        }
    }

    /** SHA-256 of this end's certificate. */
    public byte[] fingerprint() {
        return fingerprint.clone();
    }

    /** Wraps a connected socket, client side ({@code client}) or server side, and runs the TLS handshake. */
    public SSLSocket wrap(Socket plain, boolean client) throws IOException {
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(plain, plain.getInetAddress().getHostAddress(), plain.getPort(), true);
        SSLParameters p = s.getSSLParameters();
        p.setProtocols(PROTOCOLS);
        if (!client) {
            p.setNeedClientAuth(true);
        }
        s.setSSLParameters(p);
        s.setUseClientMode(client);
        s.startHandshake();
        return s;
    }

    /** SHA-256 of the certificate the other end showed. */
    public static byte[] peerFingerprint(SSLSocket s) throws IOException {
        SSLSession session = s.getSession();
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            throw new IOException("the peer showed no TLS certificate", e);
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate c)) {
            throw new IOException("the peer showed no X.509 certificate");
        }
        return fingerprint(c);
    }

    static byte[] fingerprint(X509Certificate c) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 over a certificate: " + e, e);
        }
    }

    /**
     * Accepts any certificate that is present and currently valid: who is behind it is settled by
     * the secret's proof over its fingerprint ({@link MigrationAuth}), not by a signature chain. A
     * plain {@link X509TrustManager}: the JDK wraps it and adds its algorithm-constraint checks.
     */
    private static final class AnyCertificate implements X509TrustManager {
        private static void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("no certificate");
            }
            chain[0].checkValidity();
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
