# Cordon — thin wrapper around CMake. See README.md.
#   make              build into build/ (programs in build/bin, plugin in build/lib)
#   make check        format check, ASan+UBSan unit+fuzz run, then the full suite
#   make bench        every benchmark, then each one's last line
#   make bench-NAME   one benchmark (detect, agent, broker, ingest, latency, paging)
#   make demo         the reference scenario on loopback (see README.md)
#   make format       reformat the sources with clang-format

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
BUILD     ?= build
ASAN      ?= build-asan
CMAKEFLAGS ?=
FORMAT_SOURCES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null)

.PHONY: all build check check-format format unit asan bench demo clean deps

all: build

deps:
	scripts/deps

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKEFLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory

asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCORDON_SANITIZE=ON \
	  $(if $(shell command -v clang),-DCMAKE_C_COMPILER=clang -DCORDON_FUZZ=ON,) $(CMAKEFLAGS) >/dev/null
	@cmake --build $(ASAN) -j$(JOBS) -- --no-print-directory

check-format:
	@command -v clang-format >/dev/null || { echo "clang-format missing: run scripts/deps"; exit 1; }
	@clang-format --dry-run -Werror $(FORMAT_SOURCES)
	@echo "format: ok ($(words $(FORMAT_SOURCES)) files)"

format:
	@clang-format -i $(FORMAT_SOURCES)

# Unit tests and fuzz targets under ASan+UBSan, then every test (unit, e2e)
# in the normal build. ctest's summary is the last thing printed.
check: check-format asan
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -L 'unit|fuzz' --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

unit: build
	@cd $(BUILD) && ctest -L unit --output-on-failure -j$(JOBS)

bench: build
	@bash bench/run all

bench-%: build
	@bash bench/run $*

demo:
	@scripts/deps
	@$(MAKE) --no-print-directory build
	@/usr/bin/python3 scripts/demo

clean:
	rm -rf $(BUILD) $(ASAN)
