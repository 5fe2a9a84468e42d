/*
 * CmpProtectionCheck: an independent checker for the protection of CMP
 * (RFC 4210 / RFC 9810) PKIMessages, built on BouncyCastle (Debian's
 * libbcprov-java / libbcpkix-java / libbcutil-java, version 1.72).
 *
 * It is a test peer: the Rust tests hand it DER files that our code produced
 * and it answers whether a second, unrelated implementation accepts their
 * protection. Run it through tests/java/run.sh, which compiles this file once.
 *
 *   verify --secret TEXT FILE.der      MAC protection: PasswordBasedMac or PBMAC1
 *   verify [--cert CERT] FILE.der      signature protection; CERT is DER or PEM,
 *                                      default: the message's extraCerts[0]
 *   dump FILE.der                      body=<name> pvno=<n> as BouncyCastle sees it
 *
 * stdout is exactly one line:
 *   VALID <protectionAlg OID>          exit 0
 *   INVALID <reason>                   exit 1
 *   ERROR <reason>                     exit 2 (usage, I/O, internal error)
 * Diagnostics go to stderr.
 */

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;

import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.cmp.CMPCertificate;
import org.bouncycastle.asn1.cmp.CertConfirmContent;
import org.bouncycastle.asn1.cmp.CertRepMessage;
import org.bouncycastle.asn1.cmp.CertResponse;
import org.bouncycastle.asn1.cmp.CertStatus;
import org.bouncycastle.asn1.cmp.ErrorMsgContent;
import org.bouncycastle.asn1.cmp.GenMsgContent;
import org.bouncycastle.asn1.cmp.GenRepContent;
import org.bouncycastle.asn1.cmp.InfoTypeAndValue;
import org.bouncycastle.asn1.cmp.PBMParameter;
import org.bouncycastle.asn1.cmp.PKIBody;
import org.bouncycastle.asn1.cmp.PKIHeader;
import org.bouncycastle.asn1.cmp.PKIMessage;
import org.bouncycastle.asn1.cmp.PollRepContent;
import org.bouncycastle.asn1.cmp.PollReqContent;
import org.bouncycastle.asn1.cmp.RevDetails;
import org.bouncycastle.asn1.cmp.RevRepContent;
import org.bouncycastle.asn1.cmp.RevReqContent;
import org.bouncycastle.asn1.crmf.CertReqMessages;
import org.bouncycastle.asn1.crmf.CertReqMsg;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.pkcs.PBKDF2Params;
import org.bouncycastle.asn1.pkcs.PBMAC1Params;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.cmp.GeneralPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessage;
import org.bouncycastle.cert.crmf.PKMACBuilder;
import org.bouncycastle.cert.crmf.jcajce.JcePKMACValuesCalculator;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.digests.SHA224Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.digests.SHA3Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.digests.SHA512tDigest;
import org.bouncycastle.crypto.generators.PKCS5S2ParametersGenerator;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcePBMac1CalculatorProviderBuilder;

public final class CmpProtectionCheck {

    static final String OID_PBM = "1.2.840.113533.7.66.13";      // id-PasswordBasedMac
    static final String OID_PBMAC1 = "1.2.840.113549.1.5.14";    // id-PBMAC1 (RFC 8018)
    static final String OID_PBKDF2 = "1.2.840.113549.1.5.12";    // id-PBKDF2
    static final String OID_DHBASEDMAC = "1.2.840.113533.7.66.30";
    static final String OID_HMAC_SHA256 = "1.2.840.113549.2.9";  // hmacWithSHA256

    static final int EXIT_VALID = 0;
    static final int EXIT_INVALID = 1;
    static final int EXIT_ERROR = 2;

    /** PKIBody CHOICE tag numbers to the RFC 4210 / RFC 9810 alternative names. */
    static final String[] BODY_NAMES = {
        "ir", "ip", "cr", "cp", "p10cr", "popdecc", "popdecr", "kur", "kup", "krr",
        "krp", "rr", "rp", "ccr", "ccp", "ckuann", "cann", "rann", "crlann", "pkiconf",
        "nested", "genm", "genp", "error", "certConf", "pollReq", "pollRep",
    };

    /** HMAC / PBKDF2-PRF algorithm OIDs this harness can compute itself. */
    static final Map<String, String> HMAC_DIGESTS = new HashMap<>();
    static {
        HMAC_DIGESTS.put("1.2.840.113549.2.7", "SHA-1");        // hmacWithSHA1
        HMAC_DIGESTS.put("1.3.6.1.5.5.8.1.2", "SHA-1");         // hmac-sha1 (IANA)
        HMAC_DIGESTS.put("1.2.840.113549.2.8", "SHA-224");
        HMAC_DIGESTS.put("1.2.840.113549.2.9", "SHA-256");
        HMAC_DIGESTS.put("1.2.840.113549.2.10", "SHA-384");
        HMAC_DIGESTS.put("1.2.840.113549.2.11", "SHA-512");
        HMAC_DIGESTS.put("1.2.840.113549.2.12", "SHA-512/224");
        HMAC_DIGESTS.put("1.2.840.113549.2.13", "SHA-512/256");
        HMAC_DIGESTS.put("2.16.840.1.101.3.4.2.13", "SHA3-224"); // hmacWithSHA3-224
        HMAC_DIGESTS.put("2.16.840.1.101.3.4.2.14", "SHA3-256");
        HMAC_DIGESTS.put("2.16.840.1.101.3.4.2.15", "SHA3-384");
        HMAC_DIGESTS.put("2.16.840.1.101.3.4.2.16", "SHA3-512");
    }

    /** The verdict: an exit code and the single stdout line. */
    static final class Result {
        final int code;
        final String line;

        Result(int code, String line) {
            this.code = code;
            this.line = line;
        }

        @Override
        public String toString() {
            return code + " " + line;
        }
    }

    static Result valid(String oid) {
        return new Result(EXIT_VALID, "VALID " + oid);
    }

    static Result invalid(String reason) {
        return new Result(EXIT_INVALID, "INVALID " + oneLine(reason));
    }

    static Result error(String reason) {
        return new Result(EXIT_ERROR, "ERROR " + oneLine(reason));
    }

    static String oneLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        return s.replaceAll("[\\r\\n\\t]+", " ").trim();
    }

    static final class UsageException extends Exception {
        UsageException(String msg) {
            super(msg);
        }
    }

    static final String USAGE = "usage: run.sh verify --secret TEXT FILE.der | "
        + "run.sh verify [--cert SIGNER.der|.pem] FILE.der | run.sh dump FILE.der | run.sh selftest";

    public static void main(String[] args) {
        boolean quiet = Boolean.getBoolean("cmp.bc.harness.quiet");
        Result r = run(args, quiet ? null : System.err);
        System.out.println(r.line);
        System.out.flush();
        System.exit(r.code);
    }

    static void ensureProvider() {
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
    }

    /** Entry point that never throws; diag receives human-readable notes (may be null). */
    static Result run(String[] args, PrintStream diag) {
        ensureProvider();
        try {
            if (args.length == 0) {
                throw new UsageException("no command given");
            }
            switch (args[0]) {
                case "verify":
                    return cmdVerify(args, diag);
                case "dump":
                    return cmdDump(args, diag);
                default:
                    throw new UsageException("unknown command '" + args[0] + "'");
            }
        } catch (UsageException e) {
            return error(e.getMessage() + "; " + USAGE);
        } catch (NoSuchFileException e) {
            return error("no such file: " + e.getFile());
        } catch (IOException e) {
            return error("I/O error: " + e);
        } catch (RuntimeException e) {
            // Anything unexpected is a harness problem, not a verdict.
            if (diag != null) {
                e.printStackTrace(diag);
            }
            return error("internal error: " + e);
        }
    }

    // ------------------------------------------------------------------ verify

    static Result cmdVerify(String[] args, PrintStream diag) throws UsageException, IOException {
        String secret = null;
        String certPath = null;
        String file = null;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--secret")) {
                if (++i >= args.length) {
                    throw new UsageException("--secret needs a value");
                }
                secret = args[i];
            } else if (a.equals("--cert")) {
                if (++i >= args.length) {
                    throw new UsageException("--cert needs a value");
                }
                certPath = args[i];
            } else if (a.startsWith("--")) {
                throw new UsageException("unknown option " + a);
            } else if (file == null) {
                file = a;
            } else {
                throw new UsageException("more than one FILE given");
            }
        }
        if (file == null) {
            throw new UsageException("FILE missing");
        }
        if (secret != null && certPath != null) {
            throw new UsageException("give either --secret or --cert, not both");
        }
        byte[] data = Files.readAllBytes(Paths.get(file));
        // Load the certificate up front so that a bad --cert is a usage error.
        X509CertificateHolder givenCert = null;
        if (certPath != null) {
            givenCert = loadCertificate(certPath);
        }
        return verifyBytes(data, secret, givenCert, diag);
    }

    static X509CertificateHolder loadCertificate(String path) throws IOException, UsageException {
        byte[] raw = Files.readAllBytes(Paths.get(path));
        try {
            // CertificateFactory takes DER as well as PEM; the first certificate is used.
            CertificateFactory cf = CertificateFactory.getInstance("X.509", BouncyCastleProvider.PROVIDER_NAME);
            X509Certificate c = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(raw));
            if (c == null) {
                throw new UsageException("no certificate found in " + path);
            }
            return new X509CertificateHolder(c.getEncoded());
        } catch (UsageException e) {
            throw e;
        } catch (Exception e) {
            throw new UsageException("cannot read certificate " + path + ": " + e.getMessage());
        }
    }

    /** The raw view of a PKIMessage: where header and body sit in the received bytes. */
    static final class Raw {
        int headerStart;
        int bodyEnd;
    }

    /** A decoded tag-length-value header. */
    static final class Tlv {
        int tagStart;
        int tag;            // first identifier octet
        int contentStart;
        int end;            // exclusive
    }

    static Tlv readTlv(byte[] b, int off, int limit) throws IOException {
        Tlv t = new Tlv();
        t.tagStart = off;
        if (off >= limit) {
            throw new IOException("truncated: expected a TLV at offset " + off);
        }
        t.tag = b[off] & 0xff;
        int p = off + 1;
        if ((t.tag & 0x1f) == 0x1f) { // high tag number form
            while (true) {
                if (p >= limit) {
                    throw new IOException("truncated tag at offset " + off);
                }
                if ((b[p++] & 0x80) == 0) {
                    break;
                }
            }
        }
        if (p >= limit) {
            throw new IOException("truncated length at offset " + off);
        }
        int l0 = b[p++] & 0xff;
        long len;
        if (l0 < 0x80) {
            len = l0;
        } else if (l0 == 0x80) {
            throw new IOException("indefinite length (BER, not DER) at offset " + off);
        } else {
            int n = l0 & 0x7f;
            if (n > 4 || p + n > limit) {
                throw new IOException("bad length encoding at offset " + off);
            }
            len = 0;
            for (int i = 0; i < n; i++) {
                len = (len << 8) | (b[p++] & 0xff);
            }
        }
        t.contentStart = p;
        if (len > limit - p) {
            throw new IOException("length at offset " + off + " runs past the end (" + len + " bytes)");
        }
        t.end = (int) (p + len);
        return t;
    }

    static Raw locate(byte[] data) throws IOException {
        Tlv outer = readTlv(data, 0, data.length);
        if (outer.tag != 0x30) {
            throw new IOException("not a SEQUENCE (first byte 0x" + Integer.toHexString(outer.tag) + ")");
        }
        if (outer.end != data.length) {
            throw new IOException((data.length - outer.end) + " trailing byte(s) after the PKIMessage");
        }
        Tlv header = readTlv(data, outer.contentStart, outer.end);
        if (header.tag != 0x30) {
            throw new IOException("PKIHeader is not a SEQUENCE");
        }
        Tlv body = readTlv(data, header.end, outer.end);
        if ((body.tag & 0xe0) != 0xa0) {
            throw new IOException("PKIBody is not a constructed context-specific tag");
        }
        Raw r = new Raw();
        r.headerStart = header.tagStart;
        r.bodyEnd = body.end;
        return r;
    }

    static byte[] derLength(int len) {
        if (len < 0x80) {
            return new byte[] {(byte) len};
        }
        int n = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
        byte[] out = new byte[n + 1];
        out[0] = (byte) (0x80 | n);
        for (int i = n; i >= 1; i--) {
            out[i] = (byte) len;
            len >>>= 8;
        }
        return out;
    }

    /** ProtectedPart ::= SEQUENCE { header, body } built from the received header and body bytes. */
    static byte[] rawProtectedPart(byte[] data, Raw r) {
        int n = r.bodyEnd - r.headerStart;
        byte[] len = derLength(n);
        byte[] out = new byte[1 + len.length + n];
        out[0] = 0x30;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(data, r.headerStart, out, 1 + len.length, n);
        return out;
    }

    static Result verifyBytes(byte[] data, String secret, X509CertificateHolder givenCert, PrintStream diag) {
        Raw raw;
        PKIMessage msg;
        try {
            raw = locate(data);
            msg = PKIMessage.getInstance(ASN1Primitive.fromByteArray(data));
            // touch the parts BC parses lazily so that decoding errors surface here
            msg.getHeader().getProtectionAlg();
            msg.getBody().getType();
            msg.getExtraCerts();
        } catch (Exception e) {
            return invalid("cannot decode PKIMessage: " + e.getMessage());
        }
        PKIHeader hdr = msg.getHeader();
        AlgorithmIdentifier alg = hdr.getProtectionAlg();
        if (alg == null) {
            return invalid("unprotected message: the header has no protectionAlg");
        }
        ASN1BitString protection = msg.getProtection();
        if (protection == null) {
            return invalid("protectionAlg is present but the protection field is missing");
        }
        if (protection.getPadBits() != 0) {
            return invalid("protection BIT STRING has " + protection.getPadBits() + " unused bits");
        }
        String oid = alg.getAlgorithm().getId();
        note(diag, "protectionAlg " + oid + " (" + algName(alg.getAlgorithm()) + "), body "
            + bodyName(msg.getBody().getType()) + ", pvno " + hdr.getPvno().getValue());

        // BouncyCastle re-encodes SEQUENCE { header, body } as DER before it computes
        // the MAC or checks the signature. A receiver must use the received bytes, and
        // RFC 4210 requires DER, so the two must be identical.
        byte[] rawPP = rawProtectedPart(data, raw);
        byte[] bcPP;
        try {
            bcPP = new DERSequence(new ASN1Encodable[] {hdr, msg.getBody()}).getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            return invalid("BouncyCastle cannot re-encode header+body: " + e.getMessage());
        }
        if (!MessageDigest.isEqual(rawPP, bcPP)) {
            int prefix = rawPP.length - (raw.bodyEnd - raw.headerStart);
            int i = 0;
            while (i < rawPP.length && i < bcPP.length && rawPP[i] == bcPP[i]) {
                i++;
            }
            int fileOffset = raw.headerStart + Math.max(0, i - prefix);
            return invalid("header+body are not DER: BouncyCastle's DER re-encoding of ProtectedPart differs "
                + "from the received bytes near file offset " + fileOffset
                + " (protection must be computed over the DER encoding)");
        }
        // The rest of the message (outer SEQUENCE, protection, extraCerts) must be DER too.
        try {
            byte[] bcAll = msg.getEncoded(ASN1Encoding.DER);
            if (!MessageDigest.isEqual(bcAll, data)) {
                int i = 0;
                while (i < data.length && i < bcAll.length && data[i] == bcAll[i]) {
                    i++;
                }
                return invalid("PKIMessage is not DER: BouncyCastle's DER re-encoding differs from the received "
                    + "bytes at file offset " + i + " (outside header+body)");
            }
        } catch (IOException e) {
            return invalid("BouncyCastle cannot re-encode the message: " + e.getMessage());
        }

        if (oid.equals(OID_PBM) || oid.equals(OID_PBMAC1)) {
            if (givenCert != null) {
                return invalid("message is MAC-protected (" + oid + ") but --cert was given, "
                    + "i.e. signature protection was expected");
            }
            if (secret == null) {
                return invalid("message is MAC-protected (" + oid + "); give --secret");
            }
            return oid.equals(OID_PBM)
                ? verifyPbm(msg, secret, diag)
                : verifyPbmac1(msg, alg, rawPP, protection.getOctets(), secret, diag);
        }
        if (oid.equals(OID_DHBASEDMAC)) {
            return invalid("DHBasedMac protection (" + oid + ") is not supported by this harness");
        }
        if (secret != null) {
            return invalid("message is signature-protected (" + oid + " " + algName(alg.getAlgorithm())
                + ") but --secret was given, i.e. MAC protection was expected");
        }
        return verifySignature(msg, oid, givenCert, diag);
    }

    static Result verifyPbm(PKIMessage msg, String secret, PrintStream diag) {
        AlgorithmIdentifier alg = msg.getHeader().getProtectionAlg();
        try {
            PBMParameter p = PBMParameter.getInstance(alg.getParameters());
            note(diag, "PBM: owf " + p.getOwf().getAlgorithm() + ", iterationCount " + p.getIterationCount().getValue()
                + ", mac " + p.getMac().getAlgorithm() + ", salt " + p.getSalt().getOctets().length + " bytes");
        } catch (RuntimeException e) {
            return invalid("bad PBMParameter: " + e.getMessage());
        }
        try {
            ProtectedPKIMessage ppm = new ProtectedPKIMessage(new GeneralPKIMessage(msg));
            // PKMACBuilder(calculator) sets no iteration ceiling.
            PKMACBuilder pkmac = new PKMACBuilder(new JcePKMACValuesCalculator().setProvider(BouncyCastleProvider.PROVIDER_NAME));
            if (ppm.verify(pkmac, secret.toCharArray())) {
                return valid(OID_PBM);
            }
            return invalid("PasswordBasedMac value does not match (wrong secret or modified message)");
        } catch (Exception e) {
            return invalid("PasswordBasedMac verification failed: " + e.getMessage());
        }
    }

    static Digest digestFor(String name) {
        switch (name) {
            case "SHA-1": return new SHA1Digest();
            case "SHA-224": return new SHA224Digest();
            case "SHA-256": return new SHA256Digest();
            case "SHA-384": return new SHA384Digest();
            case "SHA-512": return new SHA512Digest();
            case "SHA-512/224": return new SHA512tDigest(224);
            case "SHA-512/256": return new SHA512tDigest(256);
            case "SHA3-224": return new SHA3Digest(224);
            case "SHA3-256": return new SHA3Digest(256);
            case "SHA3-384": return new SHA3Digest(384);
            case "SHA3-512": return new SHA3Digest(512);
            default: throw new IllegalArgumentException(name);
        }
    }

    /**
     * PBMAC1 (RFC 8018 section 7.1, RFC 9481 section 6.1.1): key = PBKDF2(secret, salt,
     * iterationCount, keyLength, prf); protection = messageAuthScheme(key, DER(ProtectedPart)).
     *
     * Computed here with BouncyCastle's PKCS5S2ParametersGenerator and HMac over the received
     * header+body bytes. BC 1.72's own PBMAC1 verifier (JcePBMac1CalculatorProviderBuilder)
     * always derives with HMAC-SHA256 whatever prf the parameters name, and needs keyLength,
     * so it is only used as a cross-check where those limits do not matter.
     */
    static Result verifyPbmac1(PKIMessage msg, AlgorithmIdentifier alg, byte[] protectedPart, byte[] protectionValue,
                               String secret, PrintStream diag) {
        PBMAC1Params params;
        PBKDF2Params kdf;
        String kdfOid;
        try {
            params = PBMAC1Params.getInstance(alg.getParameters());
            kdfOid = params.getKeyDerivationFunc().getAlgorithm().getId();
            if (!kdfOid.equals(OID_PBKDF2)) {
                return invalid("PBMAC1 keyDerivationFunc " + kdfOid + " is not id-PBKDF2");
            }
            kdf = PBKDF2Params.getInstance(params.getKeyDerivationFunc().getParameters());
        } catch (RuntimeException e) {
            return invalid("bad PBMAC1 parameters: " + e.getMessage());
        }
        byte[] salt;
        int iterations;
        try {
            salt = kdf.getSalt();
            iterations = kdf.getIterationCount().intValueExact();
        } catch (RuntimeException e) {
            return invalid("bad PBKDF2 parameters: " + e.getMessage());
        }
        if (iterations < 1) {
            return invalid("PBKDF2 iterationCount " + iterations + " < 1");
        }
        if (iterations > 10_000_000) {
            return invalid("PBKDF2 iterationCount " + iterations + " is above this harness's limit of 10000000");
        }
        String prfOid = kdf.getPrf().getAlgorithm().getId(); // BC returns hmacWithSHA1 when absent
        String macOid = params.getMessageAuthScheme().getAlgorithm().getId();
        String prfDigest = HMAC_DIGESTS.get(prfOid);
        String macDigest = HMAC_DIGESTS.get(macOid);
        if (prfDigest == null || prfOid.equals("1.3.6.1.5.5.8.1.2")) {
            return invalid("unsupported PBKDF2 prf " + prfOid);
        }
        if (macDigest == null) {
            return invalid("unsupported PBMAC1 messageAuthScheme " + macOid);
        }
        HMac hmac = new HMac(digestFor(macDigest));
        BigInteger keyLength = kdf.getKeyLength();
        int keyBytes;
        if (keyLength != null) {
            try {
                keyBytes = keyLength.intValueExact();
            } catch (ArithmeticException e) {
                return invalid("PBKDF2 keyLength too large");
            }
            if (keyBytes < 1 || keyBytes > 1024) {
                return invalid("PBKDF2 keyLength " + keyBytes + " out of range");
            }
        } else {
            keyBytes = hmac.getMacSize();
            note(diag, "PBKDF2 keyLength absent: using the HMAC output length, " + keyBytes + " bytes");
        }
        note(diag, "PBMAC1: PBKDF2 prf " + prfOid + (kdf.isDefaultPrf() ? " (default, absent)" : "")
            + ", iterationCount " + iterations + ", keyLength " + (keyLength == null ? "absent" : keyLength)
            + ", salt " + salt.length + " bytes; messageAuthScheme " + macOid);

        PKCS5S2ParametersGenerator gen = new PKCS5S2ParametersGenerator(digestFor(prfDigest));
        gen.init(secret.getBytes(StandardCharsets.UTF_8), salt, iterations);
        byte[] key = ((KeyParameter) gen.generateDerivedMacParameters(keyBytes * 8)).getKey();
        hmac.init(new KeyParameter(key));
        hmac.update(protectedPart, 0, protectedPart.length);
        byte[] expected = new byte[hmac.getMacSize()];
        hmac.doFinal(expected, 0);
        boolean ours = MessageDigest.isEqual(expected, protectionValue);

        // Cross-check with BouncyCastle's own PBMAC1 verifier where it is usable.
        if (prfOid.equals(OID_HMAC_SHA256) && keyLength != null) {
            boolean bc;
            try {
                ProtectedPKIMessage ppm = new ProtectedPKIMessage(new GeneralPKIMessage(msg));
                bc = ppm.verify(new JcePBMac1CalculatorProviderBuilder()
                    .setProvider(BouncyCastleProvider.PROVIDER_NAME).build(), secret.toCharArray());
            } catch (Exception e) {
                return error("BouncyCastle's PBMAC1 verifier failed: " + e.getMessage());
            }
            if (bc != ours) {
                return error("PBMAC1 cross-check disagrees: harness=" + ours + " BouncyCastle=" + bc);
            }
            note(diag, "PBMAC1 cross-checked with BouncyCastle's JcePBMac1CalculatorProviderBuilder: " + bc);
        } else {
            note(diag, "PBMAC1 not cross-checked with BouncyCastle 1.72's own verifier (it assumes PBKDF2 prf "
                + "hmacWithSHA256 and a present keyLength)");
        }
        if (ours) {
            return valid(OID_PBMAC1);
        }
        return invalid("PBMAC1 value does not match (wrong secret or modified message)");
    }

    static Result verifySignature(PKIMessage msg, String oid, X509CertificateHolder givenCert, PrintStream diag) {
        X509CertificateHolder cert = givenCert;
        if (cert == null) {
            CMPCertificate[] extra = msg.getExtraCerts();
            if (extra == null || extra.length == 0) {
                return invalid("signature-protected message without extraCerts and no --cert given");
            }
            if (!extra[0].isX509v3PKCert()) {
                return invalid("extraCerts[0] is not an X.509 certificate");
            }
            try {
                cert = new X509CertificateHolder(extra[0].getX509v3PKCert().getEncoded(ASN1Encoding.DER));
            } catch (IOException e) {
                return invalid("cannot decode extraCerts[0]: " + e.getMessage());
            }
            note(diag, "signer certificate: extraCerts[0] " + cert.getSubject());
        } else {
            note(diag, "signer certificate: " + cert.getSubject());
        }
        ContentVerifierProvider vp;
        try {
            vp = new JcaContentVerifierProviderBuilder().setProvider(BouncyCastleProvider.PROVIDER_NAME).build(cert);
        } catch (Exception e) {
            return invalid("cannot use the signer certificate's key: " + e.getMessage());
        }
        try {
            ProtectedPKIMessage ppm = new ProtectedPKIMessage(new GeneralPKIMessage(msg));
            if (ppm.verify(vp)) {
                return valid(oid);
            }
            return invalid("signature does not verify with the key of " + cert.getSubject());
        } catch (Exception e) {
            Throwable c = e;
            StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
            while (c.getCause() != null && c.getCause() != c) {
                c = c.getCause();
                sb.append(" / ").append(c.getMessage());
            }
            return invalid("signature verification failed: " + sb);
        }
    }

    // ------------------------------------------------------------------ dump

    static Result cmdDump(String[] args, PrintStream diag) throws UsageException, IOException {
        if (args.length != 2 || args[1].startsWith("--")) {
            throw new UsageException("dump takes exactly one FILE");
        }
        byte[] data = Files.readAllBytes(Paths.get(args[1]));
        return dumpBytes(data, diag);
    }

    static Result dumpBytes(byte[] data, PrintStream diag) {
        PKIMessage msg;
        try {
            locate(data);
            msg = PKIMessage.getInstance(ASN1Primitive.fromByteArray(data));
            deepDecode(msg);
        } catch (Exception e) {
            return invalid("cannot decode PKIMessage: " + e);
        }
        try {
            byte[] again = msg.getEncoded(ASN1Encoding.DER);
            note(diag, MessageDigest.isEqual(again, data)
                ? "DER: BouncyCastle re-encodes the message byte-identically"
                : "DER: BouncyCastle's DER re-encoding differs from the input");
        } catch (IOException e) {
            note(diag, "DER: re-encoding failed: " + e.getMessage());
        }
        int type = msg.getBody().getType();
        return new Result(EXIT_VALID, "body=" + bodyName(type) + " pvno=" + msg.getHeader().getPvno().getValue());
    }

    /** Walk the structures BC decodes lazily so that malformed content is reported. */
    static void deepDecode(PKIMessage msg) {
        PKIHeader h = msg.getHeader();
        h.getPvno();
        h.getSender();
        h.getRecipient();
        h.getMessageTime();
        h.getProtectionAlg();
        h.getSenderKID();
        h.getRecipKID();
        h.getTransactionID();
        h.getSenderNonce();
        h.getRecipNonce();
        h.getFreeText();
        h.getGeneralInfo();
        PKIBody body = msg.getBody();
        ASN1Encodable c = body.getContent();
        switch (body.getType()) {
            case PKIBody.TYPE_INIT_REQ:
            case PKIBody.TYPE_CERT_REQ:
            case PKIBody.TYPE_KEY_UPDATE_REQ:
            case PKIBody.TYPE_CROSS_CERT_REQ:
            case PKIBody.TYPE_KEY_RECOVERY_REQ:
                for (CertReqMsg m : CertReqMessages.getInstance(c).toCertReqMsgArray()) {
                    m.getCertReq().getCertTemplate().getPublicKey();
                    m.getCertReq().getCertTemplate().getSubject();
                    m.getCertReq().getControls();
                    m.getPopo();
                }
                break;
            case PKIBody.TYPE_INIT_REP:
            case PKIBody.TYPE_CERT_REP:
            case PKIBody.TYPE_KEY_UPDATE_REP:
            case PKIBody.TYPE_CROSS_CERT_REP:
                CertRepMessage rep = CertRepMessage.getInstance(c);
                rep.getCaPubs();
                for (CertResponse r : rep.getResponse()) {
                    r.getStatus().getStatus();
                    r.getCertifiedKeyPair();
                }
                break;
            case PKIBody.TYPE_P10_CERT_REQ:
                CertificationRequest.getInstance(c).getCertificationRequestInfo();
                break;
            case PKIBody.TYPE_REVOCATION_REQ:
                for (RevDetails d : RevReqContent.getInstance(c).toRevDetailsArray()) {
                    d.getCertDetails();
                    d.getCrlEntryDetails();
                }
                break;
            case PKIBody.TYPE_REVOCATION_REP:
                RevRepContent.getInstance(c).getStatus();
                RevRepContent.getInstance(c).getRevCerts();
                break;
            case PKIBody.TYPE_GEN_MSG:
                for (InfoTypeAndValue itv : GenMsgContent.getInstance(c).toInfoTypeAndValueArray()) {
                    itv.getInfoType();
                }
                break;
            case PKIBody.TYPE_GEN_REP:
                for (InfoTypeAndValue itv : GenRepContent.getInstance(c).toInfoTypeAndValueArray()) {
                    itv.getInfoType();
                }
                break;
            case PKIBody.TYPE_ERROR:
                ErrorMsgContent.getInstance(c).getPKIStatusInfo().getStatus();
                break;
            case PKIBody.TYPE_CERT_CONFIRM:
                for (CertStatus s : CertConfirmContent.getInstance(c).toCertStatusArray()) {
                    s.getCertHash();
                    s.getCertReqId();
                    s.getStatusInfo();
                }
                break;
            case PKIBody.TYPE_POLL_REQ:
                PollReqContent.getInstance(c).getCertReqIdValues();
                break;
            case PKIBody.TYPE_POLL_REP:
                PollRepContent prc = PollRepContent.getInstance(c);
                for (int i = 0; i < prc.size(); i++) {
                    prc.getCertReqId(i);
                    prc.getCheckAfter(i);
                    prc.getReason(i);
                }
                break;
            default:
                break;
        }
        CMPCertificate[] extra = msg.getExtraCerts();
        if (extra != null) {
            for (CMPCertificate cc : extra) {
                if (cc.isX509v3PKCert()) {
                    cc.getX509v3PKCert().getSubject();
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    static String bodyName(int type) {
        return type >= 0 && type < BODY_NAMES.length ? BODY_NAMES[type] : "unknown" + type;
    }

    static String algName(ASN1ObjectIdentifier oid) {
        try {
            return new DefaultAlgorithmNameFinder().getAlgorithmName(oid);
        } catch (RuntimeException e) {
            return oid.getId();
        }
    }

    static void note(PrintStream diag, String s) {
        if (diag != null) {
            diag.println("cmp-bc-harness: " + s);
        }
    }
}
