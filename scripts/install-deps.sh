#!/usr/bin/env bash
# Installs every Debian 12 package that cascade needs to build, test and benchmark.
# Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config git
  ccache                    # compiler cache: rebuilds (and CI's three builds) reuse objects
  libboost1.81-dev          # Boost.Asio and Boost.Beast (header-only)
  nlohmann-json3-dev        # JSON
  libsimdjson-dev           # the gateway's frame parser
  catch2                    # tests (2.13)
  libsqlitecpp-dev libsqlite3-dev  # SQLite store
  libspdlog-dev libfmt-dev  # logging
  libcli11-dev              # command-line flags
  libjemalloc-dev           # the allocator of cascade-server and cascade-bench
  libssl-dev openssl        # TLS (wss://, https://); the tests make their certificates with openssl
  libboost-url1.81-dev      # the query of a request target (?token=)
  libjwt-dev                # JSON Web Tokens (--auth-jwt-secret, --auth-jwt-public-key)
  jwt                       # mints tokens on the command line (README's example, and its test)
  clang-14 libclang-rt-14-dev  # the fuzz preset: libFuzzer with AddressSanitizer and UBSan
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
