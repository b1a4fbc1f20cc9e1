#!/bin/sh
# Rebuild argon2-cffi-bindings, the Argon2id that checks people's passwords, from its source with
# AVX2 when this CPU has it. PyPI's wheel is built for any x86-64 CPU (SSE2); with AVX2 one check
# costs about half the CPU time (deploy notes in the README, a known-answer test in
# tests/accounts/test_users.py). Run by `make install` and by the Dockerfile.
#   deploy/argon2-native.sh PYTHON       ARGON2_NATIVE=off keeps the portable wheel.
# A virtualenv or image built here and moved to a CPU without AVX2 refuses to start with a message
# (ciam.oauth.hashers.check_argon2_runs_here) rather than crash at the first sign-in.
set -eu
PY="${1:-python3}"
if [ "${ARGON2_NATIVE:-auto}" = off ]; then
    echo "Argon2: the portable build (ARGON2_NATIVE=off)"
    exit 0
fi
if ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    echo "Argon2: no AVX2 on this CPU; the portable build stays"
    exit 0
fi
version=$("$PY" -c 'import importlib.metadata as m; print(m.version("argon2-cffi-bindings"))')
echo "Argon2: compiling argon2-cffi-bindings $version with AVX2"
# pip builds before it uninstalls: if the build fails (no compiler, no network), the wheel stays.
if ! ARGON2_CFFI_USE_SSE2=1 CFLAGS="-O3 -mavx2" "$PY" -m pip install --quiet --force-reinstall --no-deps \
    --no-cache-dir --no-binary argon2-cffi-bindings "argon2-cffi-bindings==$version"; then
    echo "Argon2: the AVX2 build failed; the portable wheel stays (same hashes, about twice the CPU)" >&2
fi
