# The project's front door: `make run`, `make test`, `make bench`, `make install-check`, `make package`.
# Each target installs the Debian packages it needs first (scripts/install-deps.sh is idempotent).
PRESET ?= release
JOBS ?= 2

.PHONY: deps build run test bench bench-charts install-check package sanitizers fuzz clean

deps:
	./scripts/install-deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j$(JOBS)

run: build
	./scripts/run.sh build/$(PRESET)

test: build
	ctest --preset $(PRESET) -j$(JOBS)

bench: build
	./build/$(PRESET)/bench/cascade-bench $(ARGS)

# The installed library as another project uses it: cmake --install to a temporary prefix, then
# examples/ built against it and run (scripts/check-install.sh).
install-check: build
	./scripts/check-install.sh build/$(PRESET)

# A .deb of cascade-server, the libraries, their headers and CMake package, in build/$(PRESET).
package: build
	cd build/$(PRESET) && cpack -G DEB

# The README's charts (docs/img/): the gateway scenario swept over connections and over submits
# in flight, cascade-server beside its canned-reply baseline, CHART_SECONDS per run (two runs
# per point). Builds cascade-bench alone; a few minutes; the records stay in build/charts/.
CHART_SECONDS ?= 3
CHART_BENCH = ./build/$(PRESET)/bench/cascade-bench gateway --bus-executor pool --seconds $(CHART_SECONDS)
bench-charts: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j$(JOBS) --target cascade-bench
	mkdir -p build/charts docs/img
	$(CHART_BENCH) --sweep connections=1,4,16,64,256 --json build/charts/gateway-connections.json
	./scripts/plot-bench build/charts/gateway-connections.json docs/img/gateway-connections.png
	$(CHART_BENCH) --sweep inflight=1,4,16,64 --json build/charts/gateway-inflight.json
	./scripts/plot-bench build/charts/gateway-inflight.json docs/img/gateway-inflight.png

# The test suite under ThreadSanitizer and under AddressSanitizer + UBSan.
sanitizers: deps
	$(MAKE) test PRESET=tsan
	$(MAKE) test PRESET=asan

# Every libFuzzer target for FUZZ_SECONDS each (CI runs them for 60): see scripts/fuzz.sh.
FUZZ_SECONDS ?= 600
fuzz: deps
	./scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
