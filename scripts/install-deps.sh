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
  libnats-dev nats-server   # the cluster: libnats (JetStream client) and the server its tests start
  libjwt-dev                # JSON Web Tokens (--auth-jwt-secret, --auth-jwt-public-key)
  jwt                       # mints tokens on the command line (README's example, and its test)
  clang-14 libclang-rt-14-dev  # the fuzz preset: libFuzzer with AddressSanitizer and UBSan
  chromium firefox-esr      # the console's browser tests (headless)
  dpkg-dev file             # make package: cpack finds the binaries with file, their Depends with dpkg-shlibdeps
  jq gnuplot-nox            # scripts/plot-bench: the charts of `make bench-charts`
  linux-perf                # scripts/profile: perf record / perf report of a bench scenario
)
# Node.js runs the browser tests (puppeteer-core drives chromium and firefox-esr). A machine may already have a
# newer Node.js of its own, with npm inside: only ask Debian for what is missing.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The browser test's npm packages, exactly as its lock file pins them (puppeteer-core drives the
# browsers above; it downloads none). Again only when the lock file changed.
browser_test="$(dirname "$0")/../tests/browser"
if [[ ! -f $browser_test/node_modules/.package-lock.json ||
      $browser_test/package-lock.json -nt $browser_test/node_modules/.package-lock.json ]]; then
  npm ci --prefix "$browser_test" --no-audit --no-fund --loglevel=error
fi
