#!/usr/bin/env bash
# Records the exported API of the built bundles as the reference the bnd baseline checks every build
# against (cnf/baseline, a Maven repository of version 0.0.1 artifacts in this tree).
#
#   scripts/api-baseline.sh [ROOT]     after `./xenj build` (or `mvn package`) in ROOT (default: this tree)
#
# Run it when a set of API changes is released, i.e. when the versions in the package-info.java
# files become the new floor. Each run writes the next version 0.0.N (local Maven repositories cache
# an artifact by version forever, so a reference is never rewritten under the same version). Until then every build's `verify` (bnd-baseline-maven-plugin) compares
# each exported package with this reference and fails when a change needs a higher package version
# than the one declared (an added method in a @ProviderType interface: minor; a removed one: major).
#
# Only the manifest and the exported packages' classes are kept: the baseline reads nothing else, and
# the reference stays small enough to live in git.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "${1:-$here}" && pwd)
repo="$here/cnf/baseline"
last=$(cat "$repo"/org/xenj/*/maven-metadata.xml 2>/dev/null | sed -n 's|.*<release>0\.0\.\([0-9]*\)</release>.*|\1|p' | sort -n | tail -1 || true)
version=0.0.$(( ${last:-0} + 1 ))
modules=(org.xenj.hypervisor org.xenj.dom0.block org.xenj.dom0.vswitch org.xenj.dom0.vnc
    org.xenj.dom0.blkback org.xenj.dom0.netback org.xenj.pool)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$repo"
mkdir -p "$repo"
for m in "${modules[@]}"; do
    jar=$(ls "$root/$m/target/$m"-*.jar | grep -v -- '-tests.jar$' | grep -v -- '-sources.jar$' | head -1)
    [ -f "$jar" ] || { echo "no bundle of $m in $root: build first" >&2; exit 1; }
    rm -rf "$work/x" && mkdir -p "$work/x" && (cd "$work/x" && unzip -q "$jar")
    # the exported packages, from the manifest (continuation lines joined)
    exports=$(tr -d '\r' < "$work/x/META-INF/MANIFEST.MF" | sed -e ':a;N;$!ba;s/\n //g' \
        | sed -n 's/^Export-Package: //p' | sed 's/"[^"]*"//g' | tr ',' '\n' | cut -d';' -f1)
    keep=("META-INF/MANIFEST.MF")
    for p in $exports; do
        keep+=("${p//.//}")
    done
    (cd "$work/x" && rm -f "$work/$m.jar" && zip -q -r -X "$work/$m.jar" "${keep[@]}")
    mvn -B -q deploy:deploy-file -Durl="file://$repo" -DrepositoryId=xenj-api-baseline \
        -Dfile="$work/$m.jar" -DgroupId=org.xenj -DartifactId="$m" -Dversion="$version" -Dpackaging=jar \
        -DgeneratePom=true
    echo "$m: $(echo $exports | wc -w) exported packages, $(stat -c %s "$work/$m.jar") bytes"
done
