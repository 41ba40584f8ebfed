# Thin wrappers around scripts/install-deps.sh, CMake and CTest.
#   make demo   install deps, build, generate a synthetic data set, run the main job on it
#   make test   install deps, build, run the whole CTest suite
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo
CTEST_ARGS ?=

.PHONY: deps configure build test demo bench format tidy clean

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: build
	./$(BUILD_DIR)/mura synth --out $(DEMO_DIR)/MURA-synth --patients 120 --seed 7 --force
	./$(BUILD_DIR)/mura stats --data-dir $(DEMO_DIR)/MURA-synth

bench: build
	bash bench/run_loader_bench.sh $(BUILD_DIR)
	bash bench/run_pth_import_bench.sh $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

tidy: configure
	clang-tidy -p $(BUILD_DIR) $$(git ls-files 'src/*.cpp' 'tools/*.cpp')

clean:
	rm -rf $(BUILD_DIR)
