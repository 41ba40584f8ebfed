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

# The demo: synthetic data -> statistics -> train a small ResNet-18 from scratch (64 px,
# ~150 steps) -> evaluate it on the official valid split. About 3 minutes on 2 cores.
demo: build
	./$(BUILD_DIR)/mura synth --out $(DEMO_DIR)/MURA-synth --patients 160 --seed 7 --min-size 96 --max-size 160 --force
	./$(BUILD_DIR)/mura stats --data-dir $(DEMO_DIR)/MURA-synth
	./$(BUILD_DIR)/mura train --data-dir $(DEMO_DIR)/MURA-synth --model resnet18 --img-size 64 --batch-size 32 \
	  --epochs 12 --lr 1e-3 --scheduler none --cache memory --seed 1 --output-dir $(DEMO_DIR)/run --overwrite
	./$(BUILD_DIR)/mura evaluate --data-dir $(DEMO_DIR)/MURA-synth --checkpoint $(DEMO_DIR)/run/best.ckpt \
	  --split valid --output-dir $(DEMO_DIR)/eval

bench: build
	bash bench/run_loader_bench.sh $(BUILD_DIR)
	bash bench/run_pth_import_bench.sh $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

tidy: configure
	clang-tidy -p $(BUILD_DIR) $$(git ls-files 'src/*.cpp' 'tools/*.cpp')

clean:
	rm -rf $(BUILD_DIR)
