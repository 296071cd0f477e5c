# Sourced by tests/*.sh: counts what actually ran, from the test runner's own reports.
#
#   surefire_result <label> <module-dir> <TestClass>...
#       Reads <module-dir>/target/surefire-reports/TEST-*<TestClass>.xml for each class (reports
#       removed beforehand with surefire_clear), prints "<label>: N passed, M failed[, K skipped]" and
#       returns non-zero when a report is missing, a test failed, or nothing ran (all skipped).
#   surefire_clear <module-dir> <TestClass>...
#       Removes those reports so that a stale one from an earlier run is never counted.

surefire_clear() {
    local dir="$1" c; shift
    for c in "$@"; do
        rm -f "$dir"/target/surefire-reports/TEST-*"$c".xml
    done
}

surefire_result() {
    local label="$1" dir="$2" c f t=0 fl=0 s=0 missing=0 line; shift 2
    for c in "$@"; do
        f=$(ls "$dir"/target/surefire-reports/TEST-*"$c".xml 2>/dev/null | head -n 1)
        if [ -z "$f" ]; then
            echo "$label: no report for $c: the test did not run" >&2
            missing=$((missing + 1))
            continue
        fi
        line=$(grep -m1 '<testsuite ' "$f")
        t=$((t + $(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")))
        fl=$((fl + $(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line") + $(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$line")))
        s=$((s + $(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$line")))
    done
    local passed=$((t - fl - s)) failed=$((fl + missing))
    if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        echo "$label: nothing ran ($s skipped)" >&2
        failed=1
    fi
    echo "$label: $passed passed, $failed failed, $s skipped"
    [ "$failed" -eq 0 ]
}
