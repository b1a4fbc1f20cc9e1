#!/bin/sh
# Rebuild argon2-cffi-bindings, the Argon2id that checks people's passwords, from its source for
# this CPU: with AVX-512 (AVX512F and AVX512VL) where it has them, else with AVX2. PyPI's wheel is
# built for any x86-64 CPU (SSE2). On the bench machine one check costs 7 ms with AVX2 and 5 ms
# with AVX-512, against about 11 ms with the wheel (README, "Passwords"; a known-answer test in
# tests/accounts/test_password_hashing.py). Run by `make install` and by the Dockerfile.
#   deploy/argon2-native.sh PYTHON       ARGON2_NATIVE=off keeps the portable wheel;
#                                        ARGON2_NATIVE=avx2 stops at AVX2 (an image for other CPUs).
# The build leaves the CPU features it needs in ciam-cpu-features.txt beside the package: a
# virtualenv or image moved to a CPU without them refuses to start with a message
# (ciam.oauth.hashers.check_argon2_runs_here) rather than crash at the first sign-in.
set -eu
PY="${1:-python3}"
mode="${ARGON2_NATIVE:-auto}"
if [ "$mode" = off ]; then
    echo "Argon2: the portable build (ARGON2_NATIVE=off)"
    exit 0
fi
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
if ! has avx2; then
    echo "Argon2: no AVX2 on this CPU; the portable build stays"
    exit 0
fi
if [ "$mode" != avx2 ] && has avx512f && has avx512vl; then
    isa="AVX-512" features="avx2 avx512f avx512vl" flags="-O3 -mavx2 -mavx512f -mavx512vl"
else
    isa="AVX2" features="avx2" flags="-O3 -mavx2"
fi
version=$("$PY" -c 'import importlib.metadata as m; print(m.version("argon2-cffi-bindings"))')
echo "Argon2: compiling argon2-cffi-bindings $version with $isa"
# pip builds before it uninstalls: if the build fails (no compiler, no network), the wheel stays.
if ! ARGON2_CFFI_USE_SSE2=1 CFLAGS="$flags" "$PY" -m pip install --quiet --force-reinstall --no-deps \
    --no-cache-dir --no-binary argon2-cffi-bindings "argon2-cffi-bindings==$version"; then
    echo "Argon2: the $isa build failed; the portable wheel stays (same hashes, about twice the CPU)" >&2
    exit 0
fi
package=$("$PY" -c 'import importlib.util as u, os; print(os.path.dirname(u.find_spec("_argon2_cffi_bindings").origin))')
echo "$features" > "$package/ciam-cpu-features.txt"
