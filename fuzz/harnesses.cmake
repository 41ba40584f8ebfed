# The libFuzzer harnesses (fuzz/<name>_fuzzer.cpp). Each is built two ways: with clang +
# libFuzzer + ASan/UBSan when MURA_FUZZ is ON (fuzz/CMakeLists.txt, `make fuzz`), and in
# the normal build as mura_fuzz_replay_<name> (with replay_main.cpp), which CTest runs over
# the checked-in regression inputs and seeds in tests/fuzz/<name>/.
set(MURA_FUZZ_HARNESSES image dicom csv csv_line pth checkpoint report_inputs kserve http)
