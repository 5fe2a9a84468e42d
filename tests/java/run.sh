#!/usr/bin/env bash
# BouncyCastle CMP protection checker: compiles tests/java/*.java once into a
# cache directory and runs it. See tests/java/README.md.
#
#   tests/java/run.sh verify --secret TEXT FILE.der        PBM / PBMAC1
#   tests/java/run.sh verify [--cert SIGNER.der|.pem] FILE.der
#   tests/java/run.sh dump FILE.der                        body=<name> pvno=<n>
#   tests/java/run.sh selftest [FIXTURE_DIR]               BC-built + OpenSSL fixtures
#
# Exit codes: 0 VALID (or dump/selftest ok), 1 INVALID (selftest: a check
# failed), 2 usage / I/O / internal error, 3 missing dependency (JDK or a
# BouncyCastle jar; the message names the Debian package).
#
# Environment: BC_JAR_DIR (default /usr/share/java), JAVA_HOME (optional),
# TMPDIR (cache location), CMP_BC_HARNESS_QUIET=1 (no stderr diagnostics).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAR_DIR="${BC_JAR_DIR:-/usr/share/java}"

missing() { # what package
    printf 'cmp-bc-harness: missing %s: install the Debian package %s (apt-get install %s)\n' "$1" "$2" "$2" >&2
    printf 'ERROR missing %s: install the Debian package %s\n' "$1" "$2"
    exit 3
}

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then
    JAVAC="$JAVA_HOME/bin/javac"
    JAVA="$JAVA_HOME/bin/java"
else
    JAVAC="$(command -v javac || true)"
    JAVA="$(command -v java || true)"
fi
[[ -n "$JAVAC" ]] || missing "javac (a JDK >= 11)" openjdk-17-jdk-headless
[[ -n "$JAVA" ]] || missing "java" openjdk-17-jre-headless

CP=""
for pair in bcprov:libbcprov-java bcpkix:libbcpkix-java bcutil:libbcutil-java; do
    jar="$JAR_DIR/${pair%%:*}.jar"
    [[ -r "$jar" ]] || missing "$jar" "${pair#*:}"
    CP+="${CP:+:}$jar"
done

SOURCES=("$HERE/CmpProtectionCheck.java" "$HERE/SelfTest.java")
for s in "${SOURCES[@]}"; do
    [[ -r "$s" ]] || { echo "ERROR missing source $s"; exit 2; }
done

# The cache key covers the sources, the jars actually used and the compiler
# (its resolved path and mtime; running `javac -version` would cost a JVM start).
KEY="$(
    {
        cat "${SOURCES[@]}"
        for jar in ${CP//:/ }; do
            printf '%s %s\n' "$(readlink -f "$jar")" "$(stat -Lc '%s %Y' "$jar")"
        done
        jc="$(readlink -f "$JAVAC")"
        printf '%s %s\n' "$jc" "$(stat -Lc '%s %Y' "$jc")"
    } | sha256sum | cut -c1-16
)"
CACHE="${TMPDIR:-/tmp}/cmp-bc-harness-$KEY"

if [[ ! -f "$CACHE/CmpProtectionCheck.class" ]]; then
    # Compile into a private directory and rename it into place, so that
    # concurrent callers (parallel tests) never see a half-written cache.
    BUILD="$(mktemp -d "${TMPDIR:-/tmp}/cmp-bc-harness-build.XXXXXX")"
    if ! "$JAVAC" -nowarn -encoding UTF-8 -d "$BUILD" -cp "$CP" "${SOURCES[@]}" >"$BUILD/javac.log" 2>&1; then
        cat "$BUILD/javac.log" >&2
        rm -rf "$BUILD"
        echo "ERROR compiling the BouncyCastle harness failed"
        exit 2
    fi
    rm -f "$BUILD/javac.log"
    chmod 755 "$BUILD"
    if ! mv -T "$BUILD" "$CACHE" 2>/dev/null; then
        rm -rf "$BUILD" # another caller won the race; use its result
    fi
    [[ -f "$CACHE/CmpProtectionCheck.class" ]] || { echo "ERROR harness cache $CACHE is incomplete"; exit 2; }
fi

JOPTS=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -cp "$CACHE:$CP")
if [[ "${CMP_BC_HARNESS_QUIET:-}" == 1 ]]; then
    JOPTS+=(-Dcmp.bc.harness.quiet=true)
fi

if [[ "${1:-}" == selftest ]]; then
    shift
    FIXTURES="${1:-$HERE/../fixtures/openssl}"
    ARGS=()
    [[ -d "$FIXTURES" ]] && ARGS+=("$FIXTURES")
    exec "$JAVA" "${JOPTS[@]}" SelfTest "${ARGS[@]}"
fi
exec "$JAVA" "${JOPTS[@]}" CmpProtectionCheck "$@"
