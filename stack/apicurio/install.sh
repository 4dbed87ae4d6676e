#!/usr/bin/env bash
# Builds Apicurio Registry (Confluent-compatible schema registry) from Maven Central into CACHE_DIR, without Docker.
#
#   stack/apicurio/install.sh CACHE_DIR      e.g. ~/.cache/imgpipe/apicurio
#
# Prints progress, then the absolute path of the runnable jar as the LAST line of stdout. Start it with:
#   java -Xmx512m -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=8081 -jar <jar>
# and the Confluent API is at http://127.0.0.1:8081/apis/ccompat/v7 (in-memory H2 storage).
#
# Idempotent: a build is keyed by the hash of pom.xml + settings.xml, so a second call returns at once, and editing
# the pom builds afresh. Needs Java 17+ and Maven 3.8+. Errors go to stderr, exit status non-zero.
set -euo pipefail

die() { echo "apicurio install: $*" >&2; exit 1; }

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 CACHE_DIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" || die "cannot create cache dir '$1'"
cache=$(cd "$1" && pwd)

key=$(cat "$here/pom.xml" "$here/settings.xml" | sha256sum | cut -c1-12)
build="$cache/build-$key"
jar="$build/target/quarkus-app/quarkus-run.jar"
done_marker="$build/.complete"

if [[ -f $done_marker && -f $jar ]]; then
  echo "$jar"
  exit 0
fi

command -v java >/dev/null || die "java not found on PATH; install a Java 17+ JDK (e.g. apt-get install openjdk-17-jdk-headless)"
command -v mvn >/dev/null || die "mvn not found on PATH; install Maven 3.8+ (e.g. apt-get install maven)"
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[[ ${java_major:-0} -ge 17 ]] || die "Java 17+ needed, found '${java_major:-unknown}'; put a Java 17+ java first on PATH"

# One build at a time per cache dir: a second caller waits, then finds the finished build.
exec 9>"$cache/.lock"
if command -v flock >/dev/null; then flock 9; fi
if [[ -f $done_marker && -f $jar ]]; then
  echo "$jar"
  exit 0
fi

rm -rf "$build"
mkdir -p "$build"
cp "$here/pom.xml" "$build/pom.xml"
log="$build/build.log"
echo "apicurio: building Apicurio Registry from Maven Central into $build (a few minutes on first run; log: $log)"
start=$SECONDS
# settings.xml sends every download to Maven Central; the local repository lives in the cache so the whole build
# is one folder to delete.
if ! mvn -B -ntp -f "$build/pom.xml" -s "$here/settings.xml" -Dmaven.repo.local="$cache/m2" package >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  die "Maven build failed (full log: $log). Check that repo.maven.apache.org is reachable, then rerun."
fi
[[ -f $jar ]] || die "Maven succeeded but $jar is missing (log: $log)"
touch "$done_marker"

# Builds from an older pom are no longer used; the shared m2 folder stays to make rebuilds fast.
find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'build-*' ! -name "build-$key" -exec rm -rf {} +
echo "apicurio: built in $((SECONDS - start))s"
echo "$jar"
