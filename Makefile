# libsio: thin wrapper over CMake. `make run` and `make test` are the whole set-up on a
# fresh machine: both call scripts/bootstrap, which installs what is missing.

BUILD      ?= build
ASAN_BUILD ?= build/asan
FUZZ_BUILD ?= build/fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PORT       ?= 3000
FUZZ_SECONDS ?= 60

.PHONY: all build run test unit e2e browser bench fuzz fuzz-smoke bootstrap install clean format

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIO_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

bootstrap:
	@scripts/bootstrap

run: bootstrap build
	$(BUILD)/sio-chat --port $(PORT) --public apps/chat/public

# The test build: AddressSanitizer + UndefinedBehaviorSanitizer, warnings are errors.
asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_SANITIZE=ON -DSIO_WERROR=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

unit: asan
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# Every suite runs against the ASan build; the soak's memory check and the valgrind run
# (soak.test.mjs, leaks.test.mjs) also need the release build, which valgrind can run and
# whose RSS means something.
e2e: asan build
	@SIO_BUILD=$(abspath $(ASAN_BUILD)) SIO_RELEASE_BUILD=$(abspath $(BUILD)) \
		node --test --test-concurrency=2 tests/e2e/

# Headless Chromium (Debian's) driven by playwright-core.
browser: asan
	@SIO_BUILD=$(abspath $(ASAN_BUILD)) node --test --test-concurrency=1 tests/browser/

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_FUZZ=ON -DSIO_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Every fuzz target for FUZZ_SECONDS, starting from its seed corpus; fails on a crash, leak
# or timeout (docs/security.md, Fuzzing).
fuzz: bootstrap fuzz-build
	@scripts/fuzz $(FUZZ_BUILD)/fuzz $(FUZZ_SECONDS)

# A short bounded fuzz run that is part of `make test`: 10 s per target (12 targets, ~2 min).
fuzz-smoke: fuzz-build
	@scripts/fuzz $(FUZZ_BUILD)/fuzz 10

test: bootstrap
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory browser

bench: bootstrap build
	@bench/run

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
