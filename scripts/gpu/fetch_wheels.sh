#!/usr/bin/env bash
# Fetch what the lent GPU machine lacks for `scripts/benchmark.py gpu` into .gpu/ (git-ignored), so that one
# device call carrying ".gpu" runs the whole benchmark (docs/benchmarks.md, section "GPU"):
#   .gpu/wheels/  the pins of scripts/gpu/wheels.txt as Python 3.12 manylinux x86_64 wheels
#   .gpu/debs/    Debian's EGL / OpenGL loaders (libglvnd), which PyBullet's EGL renderer needs there
# A pin with no cp312 wheel on PyPI (pybullet) is built from its sdist with a local Python 3.12
# (PYTHON312=/path/to/python3.12, else python3.12 on PATH, else pyenv's): about 15-25 min on 2 busy cores,
# once. pybullet's wheel is then slimmed to the pybullet_data our envs load (the carry limit is 64 MiB).
# Files already there are kept: a second run only fetches what is missing.
#
#   bash scripts/gpu/fetch_wheels.sh            # from anywhere; writes <repo>/.gpu
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
WHEELS=.gpu/wheels
DEBS=.gpu/debs
PINS=scripts/gpu/wheels.txt
mkdir -p "$WHEELS" "$DEBS"
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
KEEP_DATA=(franka_panda husky table plane.urdf plane.obj plane.mtl)  # what envs/ and the benchmarks load

have_wheel() {  # a wheel of pin $1 (name==version) is already in $WHEELS
    local name=${1%%==*} version=${1##*==}
    compgen -G "$WHEELS/$(echo "$name" | tr '-' '_')-$version-*.whl" > /dev/null \
        || compgen -G "$WHEELS/$name-$version-*.whl" > /dev/null
}

find_python312() {
    local candidate
    for candidate in "${PYTHON312:-}" python3.12 "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12; do
        if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "no Python 3.12 found to build a cp312 wheel: set PYTHON312=/path/to/python3.12" >&2
    return 1
}

build_from_sdist() {  # pin $1 -> a cp312 wheel in $WHEELS, built in a throw-away Python 3.12 venv
    local build python312
    python312=$(find_python312)
    build=$(mktemp -d)
    "$python312" -m venv "$build/venv"
    "$build/venv/bin/pip" install -q setuptools wheel "numpy>=2,<3"  # numpy: PyBullet's fast camera path
    "$PY" -m pip download -q --no-deps --no-binary=:all: -d "$build" "$1"
    echo "building $1 for Python 3.12 (long: C++ sources)"
    nice -n 10 "$build/venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$build/out" "$build"/*.tar.gz
    slim_pybullet "$build"
    mv "$build"/out/*.whl "$WHEELS"/
    rm -rf "$build"
}

slim_pybullet() {  # keep pybullet's module, pybullet_utils and the data we load; strip the libraries' symbols
    local build=$1 tree
    compgen -G "$build/out/pybullet-*.whl" > /dev/null || return 0
    "$build/venv/bin/python" -m wheel unpack -d "$build/tree" "$build"/out/pybullet-*.whl
    tree=$(echo "$build"/tree/pybullet-*)
    rm -rf "$tree"/pybullet_envs "$tree"/pybullet_examples "$tree"/pybullet_robots
    for entry in "$tree"/pybullet_data/*; do
        case " ${KEEP_DATA[*]} __init__.py " in *" $(basename "$entry") "*) ;; *) rm -rf "$entry" ;; esac
    done
    strip --strip-unneeded "$tree"/*.so
    rm "$build"/out/pybullet-*.whl
    "$build/venv/bin/python" -m wheel pack -d "$build/out" "$tree" > /dev/null
}

mapfile -t pins < <(grep -v -e '^\s*#' -e '^\s*$' "$PINS")
for pin in "${pins[@]}"; do
    if have_wheel "$pin"; then
        echo "have $pin"
    elif "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            "${PLATFORMS[@]}" -d "$WHEELS" "$pin" 2> /dev/null; then
        echo "downloaded $pin"
    else
        build_from_sdist "$pin"
    fi
done

# EGL loaders, as the device tool's README fetches them (its machine has the NVIDIA driver, not libglvnd)
if ! compgen -G "$DEBS/libegl1_*.deb" > /dev/null; then
    lists=$(mktemp -d)
    apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
    mkdir -p "$lists/partial"
    apt-get "${apt_options[@]}" update -qq
    (cd "$DEBS" && apt-get "${apt_options[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    rm -rf "$lists"
fi

ls -l "$WHEELS" "$DEBS"
du -sh .gpu
echo "carry [\".gpu\"] in the device call; the working tree and .gpu together must stay under 64 MiB"
