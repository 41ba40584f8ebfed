#pragma once
/// Writing the HTML report from the CLI: `mura report` and `mura evaluate --report` share it.
#include <cstddef>

#include "console.h"
#include "mura/app/report.h"

namespace mura::cli {

/// Writes the report with a gallery of `gallery_size` (report::set_gallery_size), prints
/// where it went on stdout; notes go to the sink. Returns the exit code.
int write_html_report(app::ReportOptions options, std::size_t gallery_size, Sink& sink);

}  // namespace mura::cli
