# Thin wrappers around scripts/install-deps.sh, CMake and CTest.
#   make demo   install deps, build, generate a synthetic data set, run the main job on it
#   make test   install deps, build, run the whole CTest suite
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo
CTEST_ARGS ?=

FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_SMOKE_SECONDS ?= 30

.PHONY: deps configure build test demo bench soak fuzz fuzz-smoke format format-check check-no-pch tidy clean

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

# A fresh build folder installs the packages and configures first; later builds only build
# (CMake re-runs itself when a CMakeLists.txt changes).
$(BUILD_DIR)/build.ninja:
	$(MAKE) configure

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The demo: synthetic data -> statistics -> train a small ResNet-18 from scratch (128 px,
# 150 steps) -> evaluate it on the official valid split -> Grad-CAM pictures of three
# abnormal validation studies -> the HTML report (numbers, curves, Grad-CAM gallery).
# A few minutes on 2 cores once built.
demo: build
	./$(BUILD_DIR)/mura synth --output-dir $(DEMO_DIR)/MURA-synth --patients 160 --seed 7 --min-size 160 --max-size 256 --overwrite
	./$(BUILD_DIR)/mura stats --data-dir $(DEMO_DIR)/MURA-synth
	./$(BUILD_DIR)/mura train --data-dir $(DEMO_DIR)/MURA-synth --model resnet18 --img-size 128 --batch-size 32 \
	  --epochs 30 --max-steps 150 --lr 1e-3 --scheduler none --cache memory --seed 1 --val-source valid \
	  --output-dir $(DEMO_DIR)/run --overwrite
	./$(BUILD_DIR)/mura evaluate --data-dir $(DEMO_DIR)/MURA-synth --checkpoint $(DEMO_DIR)/run/best.ckpt \
	  --split valid --output-dir $(DEMO_DIR)/eval
	./$(BUILD_DIR)/mura explain $$(find $(DEMO_DIR)/MURA-synth/valid -type d -name '*_positive' | sort | head -n 3) \
	  --checkpoint $(DEMO_DIR)/run/best.ckpt --output-dir $(DEMO_DIR)/gradcam
	./$(BUILD_DIR)/mura report --eval-dir $(DEMO_DIR)/eval --checkpoint $(DEMO_DIR)/run/best.ckpt \
	  --data-dir $(DEMO_DIR)/MURA-synth --out $(DEMO_DIR)/report.html
	@echo "demo: metrics in $(DEMO_DIR)/eval/metrics.json, Grad-CAM pictures in $(DEMO_DIR)/gradcam/"
	@echo "demo: report in $(DEMO_DIR)/report.html (open it in a browser)"

bench: build
	bash bench/run_loader_bench.sh $(BUILD_DIR)
	bash bench/run_pth_import_bench.sh $(BUILD_DIR)
	bash bench/run_train_bench.sh $(BUILD_DIR)
	bash bench/run_predict_bench.sh $(BUILD_DIR)
	bash bench/run_dicom_bench.sh $(BUILD_DIR)
	bash bench/run_dist_bench.sh $(BUILD_DIR)

# The service soak (30 minutes by default; SOAK_SECONDS=...): a bench, not a test.
soak: build
	bash bench/run_serve_soak.sh $(BUILD_DIR)

# A fuzzing campaign: every harness in fuzz/ for FUZZ_SECONDS (clang, libFuzzer, ASan +
# UBSan, in build-fuzz/), then the table of executions, coverage and findings. CI runs the
# short version (fuzz-smoke: 20,000 inputs per harness from a fixed seed, at most 30 s per
# harness); a finding makes either exit 1.
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

fuzz-smoke: deps
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_RUNS=$(FUZZ_SMOKE_RUNS) FUZZ_SEED=1 bash scripts/fuzz.sh

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

# What CI checks: the tree is formatted as .clang-format says.
format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.h' '*.cpp')

# Every source compiles without the precompiled header (finds missing #includes);
# NO_PCH_ONLY=REGEX checks only the sources whose path matches.
NO_PCH_ONLY ?=
check-no-pch: $(BUILD_DIR)/build.ninja
	python3 scripts/check-no-pch.py $(BUILD_DIR) $(JOBS) $(NO_PCH_ONLY)

tidy: configure
	clang-tidy -p $(BUILD_DIR) $$(git ls-files 'src/*.cpp' 'tools/*.cpp')

clean:
	rm -rf $(BUILD_DIR)
