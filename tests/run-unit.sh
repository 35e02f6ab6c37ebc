#!/bin/sh
# Runs each unit-test binary in its own process with a time limit
# (libuv's habit) and prints one closing line: "N passed, N failed".
pass=0; fail=0
for t in "$@"; do
    if timeout 60 "$t"; then pass=$((pass + 1)); else
        echo "FAILED: $t"; fail=$((fail + 1)); fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
