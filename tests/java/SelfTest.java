/*
 * Self-test of CmpProtectionCheck (run through `tests/java/run.sh selftest`).
 *
 * 1. BouncyCastle's ProtectedPKIMessageBuilder builds genm messages protected
 *    with PBM, PBMAC1 (MAC computed by the JDK's SunJCE provider, several
 *    PRF/MAC combinations), ECDSA P-256 and P-384,
 *    RSA PKCS#1 v1.5, RSASSA-PSS and Ed25519. Each must verify as VALID, and as
 *    INVALID with a wrong secret or key, with one protected byte flipped, with
 *    one protection byte flipped and when it is not DER.
 * 2. With a fixture directory argument: every OpenSSL fixture
 *    (tests/fixtures/openssl/<scenario>/NN-<body>.der) must verify as VALID and
 *    fail the same negative checks; `dump` must report the body named in the
 *    file name and pvno 2.
 *
 * Prints one line per check and ends with "N passed, N failed"; exit 0 only
 * when nothing failed.
 */

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Date;
import java.util.List;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.cmp.CMPObjectIdentifiers;
import org.bouncycastle.asn1.cmp.GenMsgContent;
import org.bouncycastle.asn1.cmp.InfoTypeAndValue;
import org.bouncycastle.asn1.cmp.PBMParameter;
import org.bouncycastle.asn1.cmp.PKIBody;
import org.bouncycastle.asn1.cmp.PKIHeader;
import org.bouncycastle.asn1.cmp.PKIMessage;
import org.bouncycastle.asn1.pkcs.PBKDF2Params;
import org.bouncycastle.asn1.pkcs.PBMAC1Params;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.cmp.GeneralPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessageBuilder;
import org.bouncycastle.cert.crmf.PKMACBuilder;
import org.bouncycastle.cert.crmf.jcajce.JcePKMACValuesCalculator;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.GenericKey;
import org.bouncycastle.operator.MacCalculator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcePBMac1CalculatorBuilder;
import org.bouncycastle.pkcs.jcajce.JcePBMac1CalculatorProviderBuilder;

public final class SelfTest {

    static final String BC = BouncyCastleProvider.PROVIDER_NAME;
    static final String SECRET = "bc-selftest-secret-42";
    static final String FIXTURE_SECRET = "cmp-test-secret-1234";
    static final SecureRandom RNG = new SecureRandom();

    static int passed;
    static int failed;

    public static void main(String[] args) throws Exception {
        CmpProtectionCheck.ensureProvider();
        Path dir = Files.createTempDirectory("cmp-bc-selftest");
        try {
            usageChecks(dir);
            macChecks(dir);
            signatureChecks(dir);
            if (args.length > 0) {
                fixtureChecks(Paths.get(args[0]), dir);
            } else {
                System.out.println("note: no fixture directory given, OpenSSL fixtures not checked");
            }
        } catch (Exception e) {
            failed++;
            System.out.println("FAIL self-test aborted: " + e);
            e.printStackTrace(System.out);
        } finally {
            deleteTree(dir);
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    // ------------------------------------------------------------ reporting

    static void expect(String name, int code, String linePrefix, String... args) {
        CmpProtectionCheck.Result r = CmpProtectionCheck.run(args, null);
        if (r.code == code && r.line.startsWith(linePrefix)) {
            passed++;
            System.out.println("ok   " + name + ": " + r.line);
        } else {
            failed++;
            System.out.println("FAIL " + name + ": expected exit " + code + " and '" + linePrefix
                + "...', got exit " + r.code + " '" + r.line + "'");
        }
    }

    static void expectTrue(String name, boolean cond, String detail) {
        if (cond) {
            passed++;
            System.out.println("ok   " + name + (detail.isEmpty() ? "" : ": " + detail));
        } else {
            failed++;
            System.out.println("FAIL " + name + (detail.isEmpty() ? "" : ": " + detail));
        }
    }

    // ------------------------------------------------------------ building

    static byte[] random(int n) {
        byte[] b = new byte[n];
        RNG.nextBytes(b);
        return b;
    }

    static ProtectedPKIMessageBuilder genmBuilder(int pvno) {
        GeneralName sender = new GeneralName(new X500Name("CN=BC SelfTest Client,O=cmp-rs test"));
        GeneralName recipient = new GeneralName(new X500Name("CN=BC SelfTest CA,O=cmp-rs test"));
        PKIBody body = new PKIBody(PKIBody.TYPE_GEN_MSG,
            new GenMsgContent(new InfoTypeAndValue(CMPObjectIdentifiers.it_signKeyPairTypes)));
        return new ProtectedPKIMessageBuilder(pvno, sender, recipient)
            .setMessageTime(new Date())
            .setTransactionID(random(16))
            .setSenderNonce(random(16))
            .setSenderKID("bc-selftest".getBytes(StandardCharsets.US_ASCII))
            .setBody(body);
    }

    static byte[] der(ProtectedPKIMessage m) throws IOException {
        return m.toASN1Structure().getEncoded(ASN1Encoding.DER);
    }

    static Path write(Path dir, String name, byte[] data) throws IOException {
        Path p = dir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_"));
        Files.write(p, data);
        return p;
    }

    static KeyPair keyPair(String alg, Object param) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(alg, BC);
        if (param instanceof Integer) {
            g.initialize((Integer) param, RNG);
        } else if (param instanceof String) {
            g.initialize(new ECGenParameterSpec((String) param), RNG);
        }
        return g.generateKeyPair();
    }

    static X509CertificateHolder selfSigned(KeyPair kp, String sigAlg, String cn) throws Exception {
        X500Name name = new X500Name("CN=" + cn + ",O=cmp-rs test");
        Date now = new Date();
        return new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(1 + RNG.nextInt(1 << 30)),
            new Date(now.getTime() - 3600_000L), new Date(now.getTime() + 86_400_000L), name, kp.getPublic())
            .build(new JcaContentSignerBuilder(sigAlg).setProvider(BC).build(kp.getPrivate()));
    }

    static String pem(X509CertificateHolder c) throws IOException {
        return "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(c.getEncoded())
            + "\n-----END CERTIFICATE-----\n";
    }

    // ------------------------------------------------------------ tampering

    /** Offset of the last value byte of the header's transactionID (a protected byte). */
    static int protectedByteOffset(byte[] msg) throws IOException {
        PKIMessage m = PKIMessage.getInstance(ASN1Primitive.fromByteArray(msg));
        byte[] tid = m.getHeader().getTransactionID().getEncoded(ASN1Encoding.DER);
        int i = indexOf(msg, tid, 0);
        if (i < 0) {
            throw new IOException("transactionID not found in message");
        }
        return i + tid.length - 1;
    }

    /** Offset of the last byte of the protection BIT STRING value. */
    static int protectionByteOffset(byte[] msg) throws IOException {
        PKIMessage m = PKIMessage.getInstance(ASN1Primitive.fromByteArray(msg));
        byte[] prot = m.getProtection().getEncoded(ASN1Encoding.DER);
        int i = indexOf(msg, prot, 0);
        if (i < 0) {
            throw new IOException("protection not found in message");
        }
        return i + prot.length - 1;
    }

    static byte[] flip(byte[] msg, int offset) {
        byte[] b = msg.clone();
        b[offset] ^= 0x01;
        return b;
    }

    static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * The same message with the header SEQUENCE length written in a longer,
     * non-minimal form (BER, not DER); the outer length grows by one.
     */
    static byte[] nonDerHeaderLength(byte[] msg) throws IOException {
        CmpProtectionCheck.Tlv outer = CmpProtectionCheck.readTlv(msg, 0, msg.length);
        CmpProtectionCheck.Tlv hdr = CmpProtectionCheck.readTlv(msg, outer.contentStart, outer.end);
        int hlen = hdr.end - hdr.contentStart;
        byte[] newHdrLen = {(byte) 0x83, (byte) (hlen >>> 16), (byte) (hlen >>> 8), (byte) hlen};
        int oldHdrLenBytes = hdr.contentStart - hdr.tagStart - 1;
        int content = outer.end - outer.contentStart - oldHdrLenBytes + newHdrLen.length;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(0x30);
        out.write(CmpProtectionCheck.derLength(content));
        out.write(0x30);
        out.write(newHdrLen);
        out.write(msg, hdr.contentStart, msg.length - hdr.contentStart);
        return out.toByteArray();
    }

    // ------------------------------------------------------------ checks

    static void usageChecks(Path dir) throws IOException {
        expect("usage: no arguments", 2, "ERROR");
        expect("usage: unknown command", 2, "ERROR", "frobnicate");
        expect("usage: verify without file", 2, "ERROR", "verify", "--secret", "x");
        expect("usage: missing file", 2, "ERROR", "verify", "--secret", "x", dir.resolve("nope.der").toString());
        expect("usage: --secret and --cert together", 2, "ERROR", "verify", "--secret", "x", "--cert", "c.pem", "f.der");
        Path junk = write(dir, "junk.der", new byte[] {0x30, 0x03, 0x02, 0x01});
        expect("decode: truncated DER", 1, "INVALID cannot decode", "verify", "--secret", "x", junk.toString());
        expect("dump: truncated DER", 1, "INVALID cannot decode", "dump", junk.toString());
    }

    /** Runs the positive and negative checks shared by every BC-built message. */
    static void commonNegatives(String label, Path dir, byte[] msg, String[] goodOpts) throws IOException {
        Path f = write(dir, label + "-tid-flipped.der", flip(msg, protectedByteOffset(msg)));
        expect(label + ": protected byte (transactionID) flipped", 1, "INVALID", concat(goodOpts, f.toString()));
        f = write(dir, label + "-prot-flipped.der", flip(msg, protectionByteOffset(msg)));
        expect(label + ": protection byte flipped", 1, "INVALID", concat(goodOpts, f.toString()));
        f = write(dir, label + "-nonder.der", nonDerHeaderLength(msg));
        expect(label + ": non-DER header length", 1, "INVALID header+body are not DER", concat(goodOpts, f.toString()));
        f = write(dir, label + "-trailing.der", concatBytes(msg, new byte[] {0}));
        expect(label + ": trailing byte", 1, "INVALID cannot decode", concat(goodOpts, f.toString()));
    }

    static void macChecks(Path dir) throws Exception {
        // PasswordBasedMac as BouncyCastle builds it (SHA-1 owf, HMAC-SHA1, 1000 iterations)
        MacCalculator pbm = new PKMACBuilder(new JcePKMACValuesCalculator().setProvider(BC)).build(SECRET.toCharArray());
        byte[] m = der(genmBuilder(PKIHeader.CMP_2000).build(pbm));
        Path f = write(dir, "pbm.der", m);
        expect("bc pbm", 0, "VALID " + CmpProtectionCheck.OID_PBM, "verify", "--secret", SECRET, f.toString());
        expect("bc pbm: wrong secret", 1, "INVALID", "verify", "--secret", SECRET + "x", f.toString());
        expect("bc pbm: --cert instead of --secret", 1, "INVALID message is MAC-protected", "verify", "--cert",
            write(dir, "dummy.pem", pem(selfSigned(keyPair("EC", "secp256r1"), "SHA256withECDSA", "dummy"))
                .getBytes(StandardCharsets.US_ASCII)).toString(), f.toString());
        expect("bc pbm: no --secret", 1, "INVALID message is MAC-protected", "verify", f.toString());
        expect("bc pbm: dump", 0, "body=genm pvno=2", "dump", f.toString());
        commonNegatives("bc pbm", dir, m, new String[] {"verify", "--secret", SECRET});

        // PasswordBasedMac with owf SHA-256 and mac hmacWithSHA256 (the RFC 9481 choices)
        PBMParameter pbmSha256 = new PBMParameter(random(16),
            new AlgorithmIdentifier(new ASN1ObjectIdentifier("2.16.840.1.101.3.4.2.1")), 1000,
            new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.840.113549.2.9"), DERNull.INSTANCE));
        MacCalculator pbm2 = new PKMACBuilder(new JcePKMACValuesCalculator().setProvider(BC))
            .setParameters(pbmSha256).build(SECRET.toCharArray());
        m = der(genmBuilder(PKIHeader.CMP_2000).build(pbm2));
        f = write(dir, "pbm-sha256.der", m);
        expect("bc pbm sha256/hmacWithSHA256", 0, "VALID " + CmpProtectionCheck.OID_PBM, "verify", "--secret", SECRET,
            f.toString());
        expect("bc pbm sha256/hmacWithSHA256: wrong secret", 1, "INVALID", "verify", "--secret", "wrong", f.toString());
        commonNegatives("bc pbm sha256/hmacWithSHA256", dir, m, new String[] {"verify", "--secret", SECRET});

        // PBMAC1. BouncyCastle 1.72's JcePBMac1CalculatorBuilder labels the KDF with id-PBES2
        // (1.2.840.113549.1.5.13) instead of id-PBKDF2, so the conformant PBMAC1 messages are
        // built with ProtectedPKIMessageBuilder and a MacCalculator computed by the JDK's own
        // provider (SunJCE: PBKDF2WithHmacSHA*, HmacSHA*), independent of the harness's code.
        Object[][] pbmac1 = {
            // label, prf JCE name, prf OID, mac JCE name, mac OID, key bytes, keyLength present, iterations, pvno
            {"pbmac1 sha256", "HmacSHA256", "1.2.840.113549.2.9", "HmacSHA256", "1.2.840.113549.2.9", 32, true, 10_000,
                PKIHeader.CMP_2000},
            {"pbmac1 sha512", "HmacSHA512", "1.2.840.113549.2.11", "HmacSHA512", "1.2.840.113549.2.11", 64, true, 2_000,
                PKIHeader.CMP_2021},
            {"pbmac1 sha256 no keyLength", "HmacSHA256", "1.2.840.113549.2.9", "HmacSHA256", "1.2.840.113549.2.9", 32,
                false, 1_000, PKIHeader.CMP_2000},
            {"pbmac1 prf sha1 mac sha384", "HmacSHA1", "1.2.840.113549.2.7", "HmacSHA384", "1.2.840.113549.2.10", 48,
                true, 1_000, PKIHeader.CMP_2000},
        };
        byte[] sha512Msg = null;
        for (Object[] c : pbmac1) {
            String label = "sunjce " + c[0];
            MacCalculator mc = sunPbmac1((String) c[1], (String) c[2], (String) c[3], (String) c[4], (Integer) c[5],
                (Boolean) c[6], (Integer) c[7], random(16), SECRET.toCharArray());
            int pvno = (Integer) c[8];
            m = der(genmBuilder(pvno).build(mc));
            if (c[0].equals("pbmac1 sha512")) {
                sha512Msg = m;
            }
            if (c[0].equals("pbmac1 sha256")) {
                String bc = bcNativePbmac1(m);
                expectTrue(label + ": BouncyCastle's own PBMAC1 verifier agrees", bc.equals("true"), bc);
            }
            f = write(dir, label.replace(' ', '-') + ".der", m);
            expect(label, 0, "VALID " + CmpProtectionCheck.OID_PBMAC1, "verify", "--secret", SECRET, f.toString());
            expect(label + ": wrong secret", 1, "INVALID PBMAC1 value does not match", "verify", "--secret", "wrong",
                f.toString());
            expect(label + ": dump", 0, "body=genm pvno=" + pvno, "dump", f.toString());
            commonNegatives(label, dir, m, new String[] {"verify", "--secret", SECRET});
        }

        // What BouncyCastle 1.72's own PBMAC1 code does (recorded, not asserted).
        MacCalculator bcBuilt = new JcePBMac1CalculatorBuilder("HmacSHA256", 256).setProvider(BC)
            .setIterationCount(10_000).setSaltLength(16).build(SECRET.toCharArray());
        m = der(genmBuilder(PKIHeader.CMP_2000).build(bcBuilt));
        f = write(dir, "bc-builder-pbmac1.der", m);
        expect("bc JcePBMac1CalculatorBuilder message (KDF labelled id-PBES2)", 1,
            "INVALID PBMAC1 keyDerivationFunc 1.2.840.113549.1.5.13 is not id-PBKDF2", "verify", "--secret", SECRET,
            f.toString());
        System.out.println("info BouncyCastle's own PBMAC1 verifier on a PBKDF2-hmacWithSHA512 message: "
            + bcNativePbmac1(sha512Msg) + " (1.72 derives the key with hmacWithSHA256 whatever the prf is)");
    }

    static String bcNativePbmac1(byte[] m) {
        try {
            ProtectedPKIMessage ppm = new ProtectedPKIMessage(new GeneralPKIMessage(PKIMessage.getInstance(m)));
            return String.valueOf(ppm.verify(new JcePBMac1CalculatorProviderBuilder().setProvider(BC).build(),
                SECRET.toCharArray()));
        } catch (Exception e) {
            return "exception " + e.getMessage();
        }
    }

    /** A PBMAC1 MacCalculator computed with the JDK's SunJCE provider. */
    static MacCalculator sunPbmac1(String prfJce, String prfOid, String macJce, String macOid, int keyBytes,
                                   boolean withKeyLength, int iterations, byte[] salt, char[] secret) throws Exception {
        SecretKeyFactory kdf = SecretKeyFactory.getInstance("PBKDF2With" + prfJce, "SunJCE");
        byte[] key = kdf.generateSecret(new PBEKeySpec(secret, salt, iterations, keyBytes * 8)).getEncoded();
        Mac mac = Mac.getInstance(macJce, "SunJCE");
        mac.init(new SecretKeySpec(key, macJce));
        AlgorithmIdentifier prf = new AlgorithmIdentifier(new ASN1ObjectIdentifier(prfOid), DERNull.INSTANCE);
        PBKDF2Params kp = withKeyLength ? new PBKDF2Params(salt, iterations, keyBytes, prf)
            : new PBKDF2Params(salt, iterations, prf);
        AlgorithmIdentifier algId = new AlgorithmIdentifier(PKCSObjectIdentifiers.id_PBMAC1, new PBMAC1Params(
            new AlgorithmIdentifier(PKCSObjectIdentifiers.id_PBKDF2, kp),
            new AlgorithmIdentifier(new ASN1ObjectIdentifier(macOid), DERNull.INSTANCE)));
        OutputStream out = new OutputStream() {
            @Override
            public void write(int b) {
                mac.update((byte) b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                mac.update(b, off, len);
            }
        };
        return new MacCalculator() {
            @Override
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                return algId;
            }

            @Override
            public OutputStream getOutputStream() {
                return out;
            }

            @Override
            public byte[] getMac() {
                return mac.doFinal();
            }

            @Override
            public GenericKey getKey() {
                return new GenericKey(algId, key);
            }
        };
    }

    static void signatureChecks(Path dir) throws Exception {
        Object[][] cases = {
            // label, key algorithm, key parameter, protection algorithm, expected OID
            {"ecdsa-p256", "EC", "secp256r1", "SHA256withECDSA", "1.2.840.10045.4.3.2"},
            {"ecdsa-p384", "EC", "secp384r1", "SHA384withECDSA", "1.2.840.10045.4.3.3"},
            {"rsa-pkcs1", "RSA", 2048, "SHA256withRSA", "1.2.840.113549.1.1.11"},
            {"rsa-pss", "RSA", 2048, "SHA256withRSAandMGF1", "1.2.840.113549.1.1.10"},
            {"ed25519", "Ed25519", null, "Ed25519", "1.3.101.112"},
        };
        for (Object[] c : cases) {
            String label = "bc " + c[0];
            String keyAlg = (String) c[1];
            String sigAlg = (String) c[3];
            String oid = (String) c[4];
            KeyPair kp = keyPair(keyAlg, c[2]);
            KeyPair other = keyPair(keyAlg, c[2]);
            String certSigAlg = sigAlg.equals("SHA256withRSAandMGF1") ? "SHA256withRSA" : sigAlg;
            X509CertificateHolder cert = selfSigned(kp, certSigAlg, "BC SelfTest " + c[0]);
            X509CertificateHolder otherCert = selfSigned(other, certSigAlg, "BC SelfTest other " + c[0]);
            ContentSigner signer = new JcaContentSignerBuilder(sigAlg).setProvider(BC).build(kp.getPrivate());
            byte[] m = der(genmBuilder(PKIHeader.CMP_2000).addCMPCertificate(cert).build(signer));
            Path f = write(dir, c[0] + ".der", m);
            Path certPem = write(dir, c[0] + "-cert.pem", pem(cert).getBytes(StandardCharsets.US_ASCII));
            Path certDer = write(dir, c[0] + "-cert.der", cert.getEncoded());
            Path otherPem = write(dir, c[0] + "-other.pem", pem(otherCert).getBytes(StandardCharsets.US_ASCII));

            expect(label + " (extraCerts[0])", 0, "VALID " + oid, "verify", f.toString());
            expect(label + " (--cert PEM)", 0, "VALID " + oid, "verify", "--cert", certPem.toString(), f.toString());
            expect(label + " (--cert DER)", 0, "VALID " + oid, "verify", "--cert", certDer.toString(), f.toString());
            expect(label + ": other key's cert", 1, "INVALID", "verify", "--cert", otherPem.toString(), f.toString());
            expect(label + ": --secret instead of --cert", 1, "INVALID message is signature-protected",
                "verify", "--secret", SECRET, f.toString());
            expect(label + ": dump", 0, "body=genm pvno=2", "dump", f.toString());
            commonNegatives(label, dir, m, new String[] {"verify"});

            // no extraCerts at all
            byte[] bare = der(genmBuilder(PKIHeader.CMP_2000).build(signer));
            Path fb = write(dir, c[0] + "-noextra.der", bare);
            expect(label + ": no extraCerts, no --cert", 1, "INVALID signature-protected message without extraCerts",
                "verify", fb.toString());
            expect(label + ": no extraCerts, --cert", 0, "VALID " + oid, "verify", "--cert", certPem.toString(), fb.toString());
        }
    }

    static void fixtureChecks(Path root, Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> scen = Files.newDirectoryStream(root)) {
            for (Path s : scen) {
                if (!Files.isDirectory(s) || s.getFileName().toString().equals("pki")) {
                    continue;
                }
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(s, "[0-9][0-9]-*.der")) {
                    for (Path p : ds) {
                        files.add(p);
                    }
                }
            }
        }
        Collections.sort(files);
        expectTrue("fixtures found under " + root, !files.isEmpty(), files.size() + " files");
        Path pki = root.resolve("pki");
        for (Path p : files) {
            String scenario = p.getParent().getFileName().toString();
            String fname = p.getFileName().toString();
            String label = "fixture " + scenario + "/" + fname;
            String body = fname.substring(3, fname.length() - 4);
            int nn = Integer.parseInt(fname.substring(0, 2));
            byte[] m = Files.readAllBytes(p);
            String protOid = PKIMessage.getInstance(ASN1Primitive.fromByteArray(m)).getHeader()
                .getProtectionAlg().getAlgorithm().getId();

            expect(label + ": dump", 0, "body=" + body + " pvno=2", "dump", p.toString());
            String[] good;
            if (protOid.equals(CmpProtectionCheck.OID_PBM)) {
                good = new String[] {"verify", "--secret", FIXTURE_SECRET};
                expect(label, 0, "VALID " + CmpProtectionCheck.OID_PBM, concat(good, p.toString()));
                expect(label + ": wrong secret", 1, "INVALID", "verify", "--secret", FIXTURE_SECRET + "5", p.toString());
            } else {
                good = new String[] {"verify"};
                expect(label + " (extraCerts[0])", 0, "VALID 1.2.840.10045.4.3.2", concat(good, p.toString()));
                // who signs what: see tests/fixtures/openssl/README.md
                String signer = nn % 2 == 0 ? "server-cert.pem"
                    : scenario.equals("kur") ? "new-cert.pem" : "vendor-cert.pem";
                expect(label + " (--cert " + signer + ")", 0, "VALID 1.2.840.10045.4.3.2",
                    "verify", "--cert", pki.resolve(signer).toString(), p.toString());
                expect(label + ": wrong cert (ca-cert)", 1, "INVALID",
                    "verify", "--cert", pki.resolve("ca-cert.der").toString(), p.toString());
            }
            Path t = write(dir, "fx-" + scenario + "-" + fname + "-tid.der", flip(m, protectedByteOffset(m)));
            expect(label + ": protected byte flipped", 1, "INVALID", concat(good, t.toString()));
            t = write(dir, "fx-" + scenario + "-" + fname + "-prot.der", flip(m, protectionByteOffset(m)));
            expect(label + ": protection byte flipped", 1, "INVALID", concat(good, t.toString()));
        }
    }

    // ------------------------------------------------------------ misc

    static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] concatBytes(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static void deleteTree(Path dir) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            PrintStream err = System.err;
            err.println("selftest: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
