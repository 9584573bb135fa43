#!/bin/bash
# The Python binding as users install it (issue 19): `pip install` of
# python/ (pyproject.toml) into a temporary directory, the package found
# there rather than in the source tree, the shared library found through
# pkg-config (this build's uninstalled fpo.pc) with FPO_LIBRARY unset, then
# the unittest suite run against the installed package.
#
#   python_installed.sh PYTHON SOURCE_ROOT BUILD_ROOT LIBFPO_SO
set -u
PY=${1:?usage: python_installed.sh PYTHON SOURCE_ROOT BUILD_ROOT LIBFPO_SO}
SRC=${2:?source root}
BUILD=${3:?build root}
LIB=${4:?libfpo.so}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpo-pip-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Offline machines have no index to fetch the build backend from: build with
# the setuptools and wheel already installed (--no-build-isolation), using the
# first Python that has them with pip (the binding is pure Python: any 3.8+
# runs it). With none, the suite runs against the source tree, and says so.
BUILDER=
for p in "$PY" /usr/bin/python3 python3; do
    if "$p" -c 'import setuptools, wheel' >/dev/null 2>&1 && "$p" -m pip --version >/dev/null 2>&1; then
        BUILDER=$p
        break
    fi
done
if [ -z "$BUILDER" ]; then
    echo "NOTE: no Python with pip, setuptools and wheel: the install is not checked;" \
         "the suite runs against the source tree"
    FPO_LIBRARY="$LIB" PYTHONPATH="$SRC/python" exec "$PY" -m unittest discover \
        -s "$SRC/python/tests" -v
fi
PY=$BUILDER
cp -r "$SRC/python" "$TMP/src" # pip builds in place: keep build/ and egg-info out of the tree
"$PY" -m pip install --quiet --no-build-isolation --no-deps --no-index --target "$TMP/site" \
    "$TMP/src" >"$TMP/pip.log" 2>&1 || { cat "$TMP/pip.log" >&2; fail "pip install ./python"; }
echo "installed with $PY -m pip into $TMP/site"
ls "$TMP/site"/libfpo-*.dist-info >/dev/null 2>&1 || fail "no libfpo-*.dist-info installed"

cd "$TMP" || exit 99
where=$(env -u FPO_LIBRARY PYTHONPATH="$TMP/site" PKG_CONFIG_PATH="$BUILD/meson-uninstalled" \
        "$PY" -c 'import libfpo; print(libfpo.__file__); print(libfpo._ffi.library_path); print(libfpo.version())') ||
    fail "import libfpo with the library from pkg-config"
echo "$where"
pkg=$(echo "$where" | sed -n 1p)
libpath=$(echo "$where" | sed -n 2p)
case "$pkg" in "$TMP/site/"*) ;; *) fail "imported $pkg, not the installed package" ;; esac
case "$libpath" in "$BUILD/"*) ;; *) fail "pkg-config led to $libpath, not this build's library" ;; esac

# FPO_LIBRARY wins over pkg-config; a wrong one is a clear ImportError.
env FPO_LIBRARY="$TMP/nonexistent.so" PYTHONPATH="$TMP/site" "$PY" -c 'import libfpo' 2>"$TMP/err" &&
    fail "a missing FPO_LIBRARY was accepted"
grep -q "FPO_LIBRARY" "$TMP/err" || fail "unclear error: $(tail -1 "$TMP/err")"

# The suite, against the installed package.
FPO_LIBRARY="$LIB" PYTHONPATH="$TMP/site" "$PY" -m unittest discover -s "$SRC/python/tests" -v
