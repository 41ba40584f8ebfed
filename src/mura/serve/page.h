#pragma once
/// The page `mura serve` shows at `/`: one self-contained HTML document (inline CSS and
/// JavaScript, no external fetch), served from memory. Drop one or more radiographs (or
/// choose them with the file input: several files are one study); it posts them to
/// `/predict?gradcam=1` and shows P(abnormal), the verdict at the model's threshold, the
/// original | heatmap | overlay panels per image, the model's identity and the threshold.
/// When the service wants a token, a password field asks for it (kept in the page only).
#include <string>

namespace mura::serve {

/// The page; `needs_token` shows the token field; `gradcam` asks for the heatmap panels (the
/// service was started with --gradcam).
std::string page_html(bool needs_token, bool gradcam);

}  // namespace mura::serve
