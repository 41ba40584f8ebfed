#include "mura/data/gdcm_guard.h"

#include <dlfcn.h>
#include <setjmp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mura/util/error.h"

namespace mura::data {
namespace {

thread_local sigjmp_buf* t_jump = nullptr;
thread_local char t_message[512];

}  // namespace

void guard_gdcm(const std::string& what, const std::function<void()>& f) {
  sigjmp_buf jump;
  sigjmp_buf* const outer = t_jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_jump = outer;
    throw Error(what + ": not a readable DICOM file (GDCM's consistency check " + t_message +
                " failed on it: damaged, or a form GDCM reads only through its fallbacks)");
  }
  t_jump = &jump;
  try {
    f();
  } catch (...) {
    t_jump = outer;
    throw;
  }
  t_jump = outer;
}

}  // namespace mura::data

/// glibc's assert() calls this; the executable's definition is the one every library gets.
/// (Declared as glibc and c10/macros/Macros.h declare it.)
extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line,
                              const char* function) noexcept __attribute__((__noreturn__));
extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line,
                              const char* function) noexcept {
  if (mura::data::t_jump != nullptr) {
    const char* base = std::strrchr(file, '/');
    std::snprintf(mura::data::t_message, sizeof mura::data::t_message, "'%s' (%s:%u)", assertion,
                  base ? base + 1 : file, line);
    siglongjmp(*mura::data::t_jump, 1);
  }
  // not in a guard: glibc's own __assert_fail (its message, then abort)
  using AssertFail = void (*)(const char*, const char*, unsigned int, const char*);
  if (auto glibc = reinterpret_cast<AssertFail>(dlsym(RTLD_NEXT, "__assert_fail")))
    glibc(assertion, file, line, function);
  std::abort();
}
