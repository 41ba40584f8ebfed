#pragma once
// Where the tests find the mura executable, the checkout, the shared radiographs, Python and
// the fixtures CTest writes. The values are fixed at configure time in one generated file
// (build/test_paths.cpp, from CMakeLists.txt), not as -D flags on every test source: a path
// on the command line would make every test object differ between two clones, which is what
// keeps ccache from reusing them (CI builds a fresh clone every time).

namespace mura::test::paths {
extern const char* const binary;       ///< the mura executable ($<TARGET_FILE:mura>)
extern const char* const source_dir;   ///< the checkout
extern const char* const shared_data;  ///< ../shared/data beside the checkout
extern const char* const python;       ///< Python with torch/torchvision/sklearn (MURA_PYTHON)
extern const char* const dicom_dir;    ///< build/dicom-fixtures (the dicom_fixtures test)
extern const char* const parity_dir;   ///< build/parity-fixtures (the parity_fixtures test)
extern const char* const fault_lib;    ///< the LD_PRELOAD fault injection library
}  // namespace mura::test::paths

#define MURA_BINARY (::mura::test::paths::binary)
#define MURA_SOURCE_DIR (::mura::test::paths::source_dir)
#define MURA_SHARED_DATA (::mura::test::paths::shared_data)
#define MURA_PYTHON (::mura::test::paths::python)
#define MURA_DICOM_DIR (::mura::test::paths::dicom_dir)
#define MURA_PARITY_DIR (::mura::test::paths::parity_dir)
#define MURA_FAULT_LIB (::mura::test::paths::fault_lib)
