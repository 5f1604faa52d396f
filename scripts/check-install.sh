#!/usr/bin/env bash
# Checks the installed library as another project sees it: installs a build folder (default
# build/release, configured and built first) into a temporary prefix, builds examples/ there
# with find_package(cascade CONFIG) and runs it (it exits non-zero unless its cascade ends as
# expected), then links and runs a small user of the allocation component. Every temporary
# folder is removed on exit.
#   scripts/check-install.sh [build folder]
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'echo "check-install: FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

build_dir=${1:-build/release}
if [[ $# -eq 0 ]]; then
  cmake --preset release >/dev/null
fi
cmake --build "$build_dir" -j2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build_dir" --prefix "$prefix" >/dev/null

# What the install must hold, and what must stay inside: the internal headers of src/ folders.
for file in bin/cascade-server include/cascade/bus.hpp 'lib*/libcascade_cascade.a' \
    'lib*/cmake/cascade/cascade-config.cmake' 'lib*/cmake/cascade/cascade-config-version.cmake'; do
  compgen -G "$prefix/$file" >/dev/null || { echo "check-install: $file was not installed" >&2; exit 1; }
done
for header in lib/*/src/*.hpp server/src/*.hpp; do
  if [[ -n $(find "$prefix/include" -name "${header##*/}") ]]; then
    echo "check-install: the internal header $header was installed" >&2
    exit 1
  fi
done

# The example, in a build folder of its own; compile_commands.json shows what the imported
# target passed to the compiler.
configure=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
cmake -S examples -B "$tmp/example" "${configure[@]}" >/dev/null
cmake --build "$tmp/example" -j2
for definition in JSON_DIAGNOSTICS=1 BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE=8; do
  grep -q -- "-D$definition" "$tmp/example/compile_commands.json" ||
    { echo "check-install: cascade::cascade did not pass -D$definition" >&2; exit 1; }
done
"$tmp/example/hello_cascade"

# cascade::allocation, the optional component: its static library's own dependencies (SQLiteCpp,
# spdlog) must come with it for the link to succeed.
mkdir "$tmp/allocation"
cat >"$tmp/allocation/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(allocation_user LANGUAGES CXX)
find_package(cascade CONFIG REQUIRED COMPONENTS allocation)
add_executable(allocation_user main.cpp)
target_link_libraries(allocation_user PRIVATE cascade::allocation)
CMAKE
cat >"$tmp/allocation/main.cpp" <<'CPP'
#include <allocation/bootstrap.hpp>
int main() {
    cascade::bus bus{{.threads = 1}};
    const auto app = allocation::bootstrap(bus, {.store = allocation::store_kind::memory});
    return app->allocations("o1") ? 1 : 0;  // a new store allocates nothing
}
CPP
cmake -S "$tmp/allocation" -B "$tmp/allocation/build" "${configure[@]}" >/dev/null
cmake --build "$tmp/allocation/build" -j2
(cd "$tmp/allocation" && ./build/allocation_user)

echo "check-install: ok (installed to a temporary prefix, examples/ and an allocation user built and run)"
