#include "mura/serve/page.h"

namespace mura::serve {

namespace {

const char* kPage = R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mura: abnormality in musculoskeletal radiographs</title>
<style>
:root { --fg: #1d2330; --muted: #5b6475; --line: #d6dbe4; --accent: #1f5fbf; --bad: #b3261e; --ok: #1e7b34; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
p.sub { color: var(--muted); margin: 0 0 1rem; }
#drop { display: block; border: 2px dashed var(--line); border-radius: 10px; padding: 2rem; text-align: center; cursor: pointer; }
#drop.over, #drop:focus-within { border-color: var(--accent); background: #f3f7fd; }
#drop input { margin-top: .75rem; }
label.token { display: block; margin: 1rem 0; }
button { font: inherit; padding: .45rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 3px solid #9cc0f5; outline-offset: 2px; }
#status { min-height: 1.5rem; margin: 1rem 0; }
#status.error { color: var(--bad); font-weight: 600; }
.summary { display: flex; gap: 2rem; flex-wrap: wrap; align-items: baseline; border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; }
.summary .p { font-size: 2rem; font-weight: 700; }
.verdict.abnormal { color: var(--bad); } .verdict.normal { color: var(--ok); }
.meta { color: var(--muted); font-size: .9rem; }
figure { margin: 1rem 0; }
.panels { display: grid; grid-template-columns: repeat(3, 1fr); gap: .5rem; }
.panels img { width: 100%; background: #000; border-radius: 4px; }
.panels span { display: block; text-align: center; color: var(--muted); font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>mura</h1>
<p class="sub">P(abnormal) for a musculoskeletal radiograph study, with Grad-CAM. Images stay in this service's memory; nothing is stored.</p>
<form id="form">
<label id="drop" for="files">Drop radiographs here (PNG, JPEG or DICOM; several files are one study)<br>
<input id="files" name="files" type="file" multiple accept=".png,.jpg,.jpeg,.dcm,image/png,image/jpeg,application/dicom"></label>
__TOKEN__
<p><button id="go" type="submit">Score the study</button></p>
</form>
<div id="status" role="status" aria-live="polite"></div>
<section id="result" aria-live="polite"></section>
</main>
<script>
(function () {
  const form = document.getElementById('form');
  const input = document.getElementById('files');
  const drop = document.getElementById('drop');
  const status = document.getElementById('status');
  const result = document.getElementById('result');
  let dropped = null;
  function say(text, isError) { status.textContent = text; status.className = isError ? 'error' : ''; }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  ['dragenter', 'dragover'].forEach(function (t) { drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add('over'); }); });
  ['dragleave', 'drop'].forEach(function (t) { drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.remove('over'); }); });
  drop.addEventListener('drop', function (ev) { dropped = ev.dataTransfer.files; say(dropped.length + ' file(s) ready: press "Score the study"'); });
  input.addEventListener('change', function () { dropped = null; if (input.files.length) form.requestSubmit(); });
  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    const files = dropped || input.files;
    if (!files || !files.length) { say('Choose at least one image first.', true); return; }
    const body = new FormData();
    for (const f of files) body.append('files', f, f.name);
    const headers = {};
    const token = document.getElementById('token');
    if (token && token.value) headers['Authorization'] = 'Bearer ' + token.value;
    say('Scoring ' + files.length + ' image(s)...');
    result.textContent = '';
    let answer, json;
    try {
      answer = await fetch(__GRADCAM__ ? 'predict?gradcam=1' : 'predict', { method: 'POST', body: body, headers: headers });
      json = await answer.json();
    } catch (e) { say('The service did not answer: ' + e, true); return; }
    if (!answer.ok) { say('Rejected (' + answer.status + '): ' + (json && json.error || 'unknown error'), true); return; }
    say('Done in ' + json.timings.total_ms.toFixed(0) + ' ms.');
    const s = el('div', { class: 'summary' });
    const p = el('div', {}, '');
    p.appendChild(el('div', { class: 'meta' }, 'P(abnormal), study'));
    p.appendChild(el('div', { class: 'p', id: 'probability', 'data-value': String(json.study.probability) }, json.study.probability.toFixed(3)));
    s.appendChild(p);
    const v = el('div', {});
    v.appendChild(el('div', { class: 'meta' }, 'verdict at threshold ' + json.threshold.toFixed(3)));
    v.appendChild(el('div', { class: 'p verdict ' + json.study.verdict, id: 'verdict' }, json.study.verdict));
    s.appendChild(v);
    s.appendChild(el('div', { class: 'meta', id: 'model' }, 'model: ' + json.model.architecture + ', ' + json.model.checkpoints.join(' + ') + ' (' + json.model.sha256.slice(0, 12) + ')'));
    result.appendChild(s);
    json.images.forEach(function (im, i) {
      const name = files[i] ? files[i].name : ('image ' + (i + 1));
      const fig = el('figure', {});
      fig.appendChild(el('figcaption', {}, name + ': ' + (im.error ? 'not scored: ' + im.error : 'P(abnormal) ' + im.probability.toFixed(3) + ', ' + im.verdict)));
      if (!im.error && im.overlay_png) {
        const panels = el('div', { class: 'panels' });
        [['image_png', 'original'], ['heatmap_png', 'heatmap'], ['overlay_png', 'overlay']].forEach(function (x) {
          const d = el('div', {});
          d.appendChild(el('img', { src: 'data:image/png;base64,' + im[x[0]], alt: x[1] + ' of ' + name }));
          d.appendChild(el('span', {}, x[1]));
          panels.appendChild(d);
        });
        fig.appendChild(panels);
      }
      result.appendChild(fig);
    });
  });
})();
</script>
</body>
</html>
)PAGE";

}  // namespace

std::string page_html(bool needs_token, bool gradcam) {
  std::string page = kPage;
  page.replace(page.find("__GRADCAM__"), 11, gradcam ? "true" : "false");
  const std::string field =
      needs_token ? "<label class=\"token\">Access token <input id=\"token\" type=\"password\" "
                    "autocomplete=\"off\"></label>"
                  : "";
  page.replace(page.find("__TOKEN__"), 9, field);
  return page;
}

}  // namespace mura::serve
