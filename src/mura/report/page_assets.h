#pragma once
/// The report page's inline assets: its style sheet and the rendering self-check script
/// (everything inline, so the page opens offline).
namespace mura::report {

/// The CSS of the page.
const char* page_style();
/// Runs before anything renders: records script errors, failed pictures and console errors,
/// then on load checks that every chart and picture has a size, and writes the outcome into
/// <p id="render-check" data-status="ok|fail" ...>.
const char* page_check_script();

}  // namespace mura::report
