#!/usr/bin/env python3
"""Independent DER decoder check for CMP PKIMessages, based on pyasn1.

For every FILE given on the command line this:

  * DER-decodes the file as a CMP PKIMessage using the full ASN.1 spec from
    pyasn1-alt-modules (RFC 9810 module, falling back to RFC 9480 / RFC 4210
    on older releases), including the nested CRMF (RFC 4211), PKCS#10 and
    X.509 types, and decoding open types (InfoTypeAndValue, algorithm
    parameters) where the module knows them;
  * fails if there are trailing bytes after the PKIMessage;
  * re-encodes the decoded value with the DER encoder and requires the
    result to be byte-identical to the input;
  * prints `OK <file> <bodyname>` (bodyname as pyasn1 names the chosen
    PKIBody alternative: ir, ip, certConf, pkiconf, ...) or
    `FAIL <file> <reason>`.

With --json one JSON object per line is printed instead, e.g.

  {"file": "x.der", "ok": true, "body": "ir", "pvno": 2,
   "transactionID": "0a1b...", "senderNonce": "...", "recipNonce": null, ...}

Octet strings are lowercase hex; absent optional fields are null.  Failed
files give {"file": ..., "ok": false, "error": "..."}.

The exit status is 0 only if every file passed (2 on usage errors).
"""

import argparse
import json
import sys

try:
    from pyasn1.codec.der import decoder as der_decoder
    from pyasn1.codec.der import encoder as der_encoder
    from pyasn1.error import PyAsn1Error
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("pyasn1 is not installed: pip install -r requirements.txt\n")
    sys.exit(2)

try:
    from pyasn1_alt_modules import rfc9810 as cmp_module
except ImportError:  # older pyasn1-alt-modules releases
    try:
        from pyasn1_alt_modules import rfc9480 as cmp_module
    except ImportError:
        try:
            from pyasn1_alt_modules import rfc4210 as cmp_module
        except ImportError:
            sys.stderr.write(
                "pyasn1-alt-modules is not installed: pip install -r requirements.txt\n")
            sys.exit(2)


def _hex_or_none(header, name):
    """Lowercase hex of an optional OCTET STRING header field, or None."""
    if name not in header:
        return None
    comp = header[name]
    if not comp.isValue:
        return None
    return bytes(comp).hex()


def _opt(header, name):
    comp = header[name]
    return comp if comp.isValue else None


def _general_name(gn):
    """Compact text form of a GeneralName (enough for comparisons)."""
    if gn is None or not gn.isValue:
        return None
    kind = gn.getName()
    val = gn.getComponent()
    if kind == "directoryName":
        rdns = val.getComponent()  # rdnSequence
        parts = []
        for rdn in rdns:
            for atv in rdn:
                parts.append("%s=%s" % (atv["type"], der_encoder.encode(atv["value"]).hex()))
        return {"directoryName": parts}
    return {kind: der_encoder.encode(val).hex()}


def check_file(path):
    """Return a dict describing the file; raises ValueError on failure."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ValueError("cannot read: %s" % exc.strerror)
    if not data:
        raise ValueError("empty file")

    try:
        msg, rest = der_decoder.decode(
            data, asn1Spec=cmp_module.PKIMessage(), decodeOpenTypes=True)
    except PyAsn1Error as exc:
        raise ValueError("DER decode error: %s" % str(exc).replace("\n", " "))
    if rest:
        raise ValueError("%d trailing byte(s) after PKIMessage" % len(rest))

    try:
        again = der_encoder.encode(msg)
    except PyAsn1Error as exc:
        raise ValueError("DER re-encode error: %s" % str(exc).replace("\n", " "))
    if again != data:
        first = next((i for i, (a, b) in enumerate(zip(again, data)) if a != b),
                     min(len(again), len(data)))
        raise ValueError(
            "DER re-encoding differs (input %d bytes, re-encoded %d bytes, first "
            "difference at offset %d)" % (len(data), len(again), first))

    body = msg["body"].getName()
    if not body:
        raise ValueError("no PKIBody alternative chosen")

    header = msg["header"]
    time = _opt(header, "messageTime")
    prot_alg = _opt(header, "protectionAlg")
    sender_kid = _opt(header, "senderKID")
    recip_kid = _opt(header, "recipKID")
    extra = _opt(msg, "extraCerts")
    return {
        "file": path,
        "ok": True,
        "body": body,
        "pvno": int(header["pvno"]),
        "transactionID": _hex_or_none(header, "transactionID"),
        "senderNonce": _hex_or_none(header, "senderNonce"),
        "recipNonce": _hex_or_none(header, "recipNonce"),
        # extra, informational fields
        "sender": _general_name(header["sender"]),
        "recipient": _general_name(header["recipient"]),
        "messageTime": str(time) if time is not None else None,
        "protectionAlg": str(prot_alg["algorithm"]) if prot_alg is not None else None,
        "senderKID": bytes(sender_kid).hex() if sender_kid is not None else None,
        "recipKID": bytes(recip_kid).hex() if recip_kid is not None else None,
        "protected": _opt(msg, "protection") is not None,
        "extraCerts": len(extra) if extra is not None else 0,
        "length": len(data),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Decode CMP PKIMessage DER files with pyasn1 and check "
                    "that they re-encode byte-identically.")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per file (JSON Lines)")
    parser.add_argument("files", metavar="FILE", nargs="+")
    args = parser.parse_args(argv)

    failed = 0
    for path in args.files:
        try:
            info = check_file(path)
        except ValueError as exc:
            failed += 1
            if args.json:
                print(json.dumps({"file": path, "ok": False, "error": str(exc)}))
            else:
                print("FAIL %s %s" % (path, exc))
            continue
        if args.json:
            print(json.dumps(info))
        else:
            print("OK %s %s" % (path, info["body"]))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
