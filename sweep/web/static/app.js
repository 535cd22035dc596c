// hwnas web: fills the server-rendered pages from the JSON API (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const fmt = (v, d = 3) => (v === null || v === undefined ? "–" :
  typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(d) : String(v));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

async function api(url, options) {
  const res = await fetch(url, options);
  const body = await res.json().catch(() => ({error: `HTTP ${res.status}`}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function poll(fn, ms) {  // fn returns true to keep polling
  const tick = async () => { let again = true; try { again = await fn(); } catch (e) { console.error(e); }
    if (again) setTimeout(tick, ms); };
  tick();
}

function badge(status) {
  const el = $("status");
  el.textContent = status.state;
  el.className = "badge " + status.state;
  $("reason").textContent = status.reason || "";
  $("stop").hidden = status.state !== "running";
  if (status.state !== "running") $("stop").disabled = false;  // ready for the job's next start (resume)
}

function stopButton(url) {  // SIGTERM to the job's processes; the next poll shows "stopped"
  $("stop").addEventListener("click", async () => {
    if (!window.confirm("Stop this job? A sweep can be resumed later.")) return;
    $("stop").disabled = true;
    try { await api(url + "/stop", {method: "POST"}); } catch (e) { $("reason").textContent = e.message; }
  });
}

function fileList(files, short = false) {  // short: the file name without its folder
  return files.map((f) => `<li><a href="/files/${f.path.split("/").map(encodeURIComponent).join("/")}" data-file="${esc(f.name)}">` +
    `${esc(short ? f.name.split("/").pop() : f.name)}</a></li>`).join("");
}

const row = (cells) => "<tr>" + cells.map((c) => `<td>${c}</td>`).join("") + "</tr>";  // cells: HTML already

function kv(rows) {
  return rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
}

// --- index: forms, LUT upload, knob preview, job list
function initIndex() {
  let timer = null;
  const knobs = ["lut", "alpha", "beta", "gamma", "delta"];
  const preview = () => { clearTimeout(timer); timer = setTimeout(async () => {
    // a box being retyped is empty for a moment: ask the server only about filled-in knobs
    const empty = knobs.filter((k) => $("f-" + k).value.trim() === "");
    if (empty.length) {
      $("preview").textContent = `enter ${empty.join(", ")} to see LAT0 and the dominant term`;
      $("preview").classList.remove("error");
      return;
    }
    const q = new URLSearchParams(knobs.map((k) => [k, $("f-" + k).value]));
    try {
      const p = await api("/api/knobs?" + q);
      const ener = p.ener0_mj === null ? "no energy in this LUT" : `ENER0 = ${fmt(p.ener0_mj)} mJ, vENER = ${fmt(p.v_ener)}`;
      $("preview").innerHTML = `LAT0 = ${fmt(p.lat0_ms)} ms, vLAT = ${fmt(p.v_lat)}; ${esc(ener)}<br>` +
        `<b>${p.dominant} dominates</b> (minor/major = ${fmt(p.dominance, 2)}); LUT made for ${esc(p.lut_space.name)} x${esc(p.lut_space.width)}`;
      $("preview").classList.remove("error");
    } catch (e) { $("preview").textContent = e.message; $("preview").classList.add("error"); }
  }, 150); };
  knobs.forEach((k) => $("f-" + k).addEventListener("input", preview));
  preview();
  // a LUT describes one deployment target: picking a LUT picks the run's runtime and precision
  const syncTarget = () => {
    const opt = $("f-lut").selectedOptions[0];
    const target = opt && opt.dataset.target;
    if (!target) return;
    const i = target.lastIndexOf("-");
    $("f-runtime").value = target.slice(0, i); $("f-precision").value = target.slice(i + 1);
  };
  $("f-lut").addEventListener("change", syncTarget);
  syncTarget();

  $("lut-upload").addEventListener("click", async () => {
    const file = $("lut-file").files[0];
    $("lut-error").textContent = "";
    if (!file) { $("lut-error").textContent = "choose a LUT file first"; return; }
    const data = new FormData(); data.append("file", file);
    try {
      const lut = await api("/api/luts", {method: "POST", body: data});
      const sel = $("f-lut");
      if (![...sel.options].some((o) => o.value === lut.value)) {
        const opt = new Option(lut.label, lut.value); opt.dataset.target = lut.target || ""; sel.add(opt);
      }
      sel.value = lut.value; preview(); syncTarget();
    } catch (e) { $("lut-error").textContent = e.message; }
  });

  for (const kind of ["run", "sweep"]) {
    $(kind + "-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $(kind + "-error").textContent = "";
      try {
        const job = await api(`/api/${kind}s`, {method: "POST", body: new FormData(ev.target)});
        window.location = job.url;
      } catch (e) { $(kind + "-error").textContent = e.message; }
    });
  }
  poll(async () => {
    const jobs = await api("/api/jobs");
    $("jobs").tBodies[0].innerHTML = jobs.map((j) => row([esc(j.kind), `<a href="${esc(j.url)}">${esc(j.name)}</a>`,
      `<span class="badge ${esc(j.state)}">${esc(j.state)}</span>`, esc(j.started || ""), esc(j.reason || "")])).join("");
    return true;
  }, 3000);
}

// --- one run: live search progress, heat map of P(op), architecture, downloads
function drawHeatmap(progress) {
  const z = progress.probabilities;
  const layers = z.map((_, i) => `layer ${i}`);
  // colors span the probabilities' own range: early in a search they differ by a few percent
  Plotly.react("heatmap", [{type: "heatmap", z, x: progress.op_names, y: layers, colorscale: "Viridis",
    colorbar: {title: {text: "P(op)"}}, hovertemplate: "%{y}, %{x}: P = %{z:.3f}<extra></extra>"}],
    // top margin: room for plotly's mode bar above the cells
    {margin: {t: 34, l: 70, r: 10, b: 50}, height: Math.max(260, 18 * z.length + 80), yaxis: {autorange: "reversed"}},
    {displaylogo: false, responsive: true});
}

function initRun(name) {
  const url = `/api/runs/${encodeURIComponent(name)}`;
  stopButton(url);
  poll(async () => {
    const v = await api(url);
    badge(v.status);
    $("phase").textContent = v.phase + (v.status.steps ? ` (step ${v.status.step || 0} of ${v.status.steps})` : "");
    const m = v.progress && v.progress.metrics;
    if (m) {
      $("metrics").innerHTML = kv([["epoch", `${m.epoch} / ${m.epochs}` + (m.searching ? "" : " (warm-up)")],
        ["train accuracy", fmt(m.train_acc)], ["val accuracy", fmt(m.val_acc)], ["temperature", fmt(m.temperature)],
        ["expected LAT (ms)", fmt(m.expected_latency_ms)], ["expected ENER (mJ)", fmt(m.expected_energy_mj)],
        ["argmax arch LAT (ms)", fmt(m.arch_latency_ms)]]);
      drawHeatmap(v.progress);
    }
    if (v.setup) $("setup").textContent = `LUT ${v.setup.lut}, ${v.setup.space}, ${v.setup.dataset}, ` +
      `deployed in ${v.setup.target}; ` +
      Object.entries(v.setup.knobs).map(([k, x]) => `${k}=${x}`).join(", ");
    if (v.arch) $("arch").innerHTML = v.arch.ops.map((op) => `<li>${esc(op)}</li>`).join("");
    if (v.child) {
      const ms = v.child.measured || {};
      $("child").innerHTML = kv([["test accuracy", fmt(v.child.test_acc)], ["parameters", v.child.params],
        ["LUT latency (ms)", fmt(v.child.lut && v.child.lut.lut_latency_ms)],
        [`measured here (ms, ${v.child.target || "target unknown"})`, fmt(ms.latency_ms) + (ms.noisy ? " (noisy)" : "")]].concat(
        v.child.test_acc_int8 === null || v.child.test_acc_int8 === undefined ? [] :
          [["test accuracy int8", `${fmt(v.child.test_acc_int8)} (${fmt(v.child.int8_drop_points, 2)} points lost)`]]));
    }
    $("files").innerHTML = fileList(v.files);
    return v.status.state === "running";
  }, 1500);
}

// --- one sweep: trials table, report, resume
function trialRow(t, target) {  // target: the sweep's; a trial timed in another one says so
  const phase = t.error ? "failed: " + t.error : t.phase || "";
  const budget = t.within_budget === null || t.within_budget === undefined ? "–" : t.within_budget ? "within" : "over";
  const knobs = Object.entries(t.knobs).map(([k, x]) => `${k}=${fmt(x, 2)}`).join(" ");
  return row([`<a href="#" data-trial="${esc(t.trial)}">${esc(t.trial)}</a>`, esc(phase), fmt(t.epoch), fmt(t.test_acc), fmt(t.lut_latency_ms), fmt(t.lut_energy_mj),
    fmt(t.measured_latency_ms) + (t.target && t.target !== target ? ` (${t.target})` : ""), budget, esc(knobs), `<ul class="inline">${fileList(t.files, true)}</ul>`]);
}

function initSweep(name) {
  const url = `/api/sweeps/${encodeURIComponent(name)}`;
  stopButton(url);
  const refresh = () => poll(async () => {
    const v = await api(url);
    badge(v.status);
    const budget = v.budget ? Object.entries(v.budget).filter(([, x]) => x !== null).map(([k, x]) => `${k}=${x}`).join(", ") : "";
    $("info").textContent = `${v.trials.length} of ${fmt(v.trials_planned)} trials; strategy ${v.strategy || "–"}, dominant term ${v.dominant || "–"}` +
      (budget ? `; budget ${budget}` : "") + `; deployment target ${v.target || "unknown"}`;
    $("target-head").textContent = v.target || "";
    if (v.optuna) $("optuna").innerHTML = `Optuna study: <code>optuna-dashboard ${esc(v.optuna.storage)}</code>`;
    const report = $("report");
    report.hidden = !v.report;
    report.href = `/files/${encodeURIComponent(name)}/report/report.html`;
    $("resume").disabled = v.status.state === "running";
    $("trials").tBodies[0].innerHTML = v.trials.map((t) => trialRow(t, v.target)).join("");
    const rec = v.recommended;
    $("recommended").innerHTML = rec ? `<b>recommended:</b> ${esc(rec.trial)}, test accuracy ${fmt(rec.test_acc)}` +
      (rec.test_acc_int8 === null || rec.test_acc_int8 === undefined ? "" : `, int8 ${fmt(rec.test_acc_int8)}`) +
      `, deployed in ${esc(rec.target || "target unknown")}; ` +
      `${esc(rec.note || "")}<ul class="inline">${fileList(rec.files, true)}</ul>` : "";
    const fin = v.final;
    $("final").innerHTML = fin ? `<b>final model:</b> ${esc(fin.trial)} trained with the final recipe, ` +
      `test accuracy ${fmt(fin.test_acc)} (proxy ${fmt(fin.proxy_test_acc)})` +
      (fin.test_acc_int8 === null || fin.test_acc_int8 === undefined ? "" : `, int8 ${fmt(fin.test_acc_int8)}`) +
      (fin.measured_latency_ms === null || fin.measured_latency_ms === undefined ? "" :
        `, ${fmt(fin.measured_latency_ms)} ms measured`) +
      ` in ${esc(fin.target || "target unknown")}<ul class="inline">${fileList(fin.files, true)}</ul>` : "";
    $("files").innerHTML = fileList(v.files);
    return v.status.state === "running";
  }, 3000);
  $("trials").addEventListener("click", async (ev) => {  // a trial's name: its search's last P(op)
    const trial = ev.target.dataset && ev.target.dataset.trial;
    if (!trial) return;
    ev.preventDefault();
    try {
      const p = await api(`${url}/trials/${encodeURIComponent(trial)}/progress`);
      const m = p.metrics || {};
      $("trial-pick").textContent = `${trial}: epoch ${m.epoch} of ${m.epochs}, val accuracy ${fmt(m.val_acc)}, ` +
        `temperature ${fmt(m.temperature)}, expected LAT ${fmt(m.expected_latency_ms)} ms`;
      drawHeatmap(p);
    } catch (e) { $("trial-pick").textContent = `${trial}: ${e.message}`; }
    $("trial-pick").scrollIntoView({block: "start"});  // the card sits below a table of up to hundreds of rows
  });
  $("resume").addEventListener("click", async () => {
    $("resume-error").textContent = "";
    const body = new FormData();  // empty: as many trials as before; a number extends the sweep
    if ($("resume-trials").value) body.append("trials", $("resume-trials").value);
    try { await api(`${url}/resume`, {method: "POST", body}); refresh(); }
    catch (e) { $("resume-error").textContent = e.message; }
  });
  refresh();
}
