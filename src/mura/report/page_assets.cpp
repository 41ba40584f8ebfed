#include "mura/report/page_assets.h"

namespace mura::report {

namespace {

// ---------------------------------------------------------------- page pieces

const char* kStyle = R"CSS(
:root { --fg: #1d2733; --muted: #5b6b7b; --line: #d9e0e7; --bad: #b3261e; --bg: #f3f5f7; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg);
       margin: 0; background: var(--bg); }
main { max-width: 1260px; margin: 0 auto; padding: 18px 28px 36px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--line); padding-bottom: 3px; margin: 26px 0 10px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.sub { color: var(--muted); margin: 0 0 10px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f7f9fb; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
table.kv td { text-align: left; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 150px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .big { font-size: 28px; font-weight: 600; }
.card.small td { border: none; padding: 2px 6px; font-size: 15px; }
.ci { color: var(--muted); font-size: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
.row > div { min-width: 0; }
svg.chart { border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.cm td { width: 110px; text-align: center; font-size: 16px; }
.cm td.diag { background: #e3f1e4; }
.cm td.off { background: #fbe7e5; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; }
figure.case { margin: 0; width: 270px; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
figure.case img { display: block; margin: 0 auto; max-width: 256px; height: auto; }
figcaption { font-size: 12px; margin-top: 4px; }
figcaption code { word-break: break-all; font-size: 11px; color: var(--muted); }
.kind-fp { border-top: 4px solid #d62728; } .kind-fn { border-top: 4px solid #ff7f0e; }
.kind-tp { border-top: 4px solid #2ca02c; }
.missing { height: 140px; display: flex; align-items: center; justify-content: center; padding: 8px;
           background: #fbe7e5; color: var(--bad); text-align: center; font-size: 12px; word-break: break-all; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 6px 10px; margin: 6px 0; }
.muted { color: var(--muted); }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
#render-check[data-status="fail"] { color: var(--bad); font-weight: 600; }
)CSS";

// Runs before anything renders: records script errors, failed pictures and console errors,
// then on load checks that every chart and picture has a size, and says so in the page.
const char* kCheckScript = R"JS(
(function () {
  var problems = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) problems.push('failed to load <' + t.tagName.toLowerCase() + '> ' + (t.alt || t.id || ''));
    else problems.push('script error: ' + e.message);
  }, true);
  var consoleError = console.error;
  console.error = function () {
    problems.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    consoleError.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    function drawn(el) { var r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; }
    var charts = document.querySelectorAll('svg.chart'), images = document.querySelectorAll('img');
    for (var i = 0; i < charts.length; ++i)
      if (!drawn(charts[i])) problems.push('chart not drawn: ' + charts[i].id);
    for (var k = 0; k < images.length; ++k)
      if (!drawn(images[k]) || !images[k].complete || images[k].naturalWidth === 0)
        problems.push('picture not drawn: ' + images[k].alt);
    var out = document.getElementById('render-check');
    out.setAttribute('data-charts', String(charts.length));
    out.setAttribute('data-images', String(images.length));
    out.setAttribute('data-problems', String(problems.length));
    out.setAttribute('data-status', problems.length ? 'fail' : 'ok');
    out.textContent = problems.length
      ? 'Rendering check failed: ' + problems.join('; ')
      : 'Rendering check passed: ' + charts.length + ' charts and ' + images.length + ' pictures drawn, no script errors.';
  });
})();
)JS";

}  // namespace

const char* page_style() {
  return kStyle;
}
const char* page_check_script() {
  return kCheckScript;
}

}  // namespace mura::report
