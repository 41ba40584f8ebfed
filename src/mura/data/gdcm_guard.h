#pragma once
/// GDCM as Debian builds it keeps its assert()s, and some are reachable from a damaged file:
/// fuzzing found them in its reader's fallback paths (a broken File Meta Information read
/// again "compatibly", a VR16 element), where a failed assert ends the whole process -- for
/// `mura serve`, every client's requests. mura's structure walk (dicom_scan.h) refuses the
/// files known to go there; this guard catches the rest: while `f` runs on this thread, a
/// failed assert() anywhere in the process's libraries returns here (siglongjmp from mura's
/// own __assert_fail, which the dynamic linker gives GDCM in place of glibc's) and becomes a
/// mura::Error naming `what`. Outside a guard, assert() behaves as glibc's: message, abort.
///
/// `f` must only call GDCM: frames it skips are not unwound, so anything of mura's that needs
/// a destructor lives outside it (GDCM's own temporaries of the failed call are leaked; one
/// damaged file's worth).
#include <functional>
#include <string>

namespace mura::data {

void guard_gdcm(const std::string& what, const std::function<void()>& f);

}  // namespace mura::data
