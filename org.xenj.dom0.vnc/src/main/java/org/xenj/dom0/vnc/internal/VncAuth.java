package org.xenj.dom0.vnc.internal;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * RFB's "VNC authentication": the client DES-encrypts a 16-byte challenge with the password (first
 * 8 bytes, zero-padded) as key, each key byte's bits in reverse order as the protocol has always
 * used them. The JDK's DES does the cipher.
 */
final class VncAuth {

    private VncAuth() {
    }

    static byte[] response(String password, byte[] challenge) {
        byte[] key = new byte[8];
        byte[] pw = password.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 8 && i < pw.length; i++) {
            key[i] = (byte) (Integer.reverse(pw[i] & 0xff) >>> 24);
        }
        try {
            Cipher des = Cipher.getInstance("DES/ECB/NoPadding");
            des.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "DES"));
            return des.doFinal(challenge);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("DES is not available in this JDK", e);
        }
    }

    static boolean check(String password, byte[] challenge, byte[] answer) {
        return MessageDigest.isEqual(response(password, challenge), answer);
    }
}
