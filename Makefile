# The project's front door: `make run`, `make test`, `make bench`, `make install-check`, `make package`.
# Each target installs the Debian packages it needs first (scripts/install-deps.sh is idempotent).
PRESET ?= release
JOBS ?= 2

.PHONY: deps build run test bench install-check package sanitizers fuzz clean

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
