// tokenfab web calculator: the form, the KPI cards, the charts and the downloads.
// Every figure comes from the HTTP API (/api/v1/*); every choice in the form comes from its
// catalogs and its OpenAPI schema. No formula lives here: the page only formats and plots.
"use strict";

const API = "api/v1/";
const DEBOUNCE_MS = 300;
// The scenario the page opens with when the URL names none: `make run`'s headline estimate.
const START = { model: "llama-3.1-70b", accelerator: "h100-sxm", accelerators: "8", precision: "fp8" };
const FIELDS = [
  "model", "accelerator", "accelerators", "prefill_accelerator", "precision", "ownership", "region", "workload",
  "input_tokens", "output_tokens", "reasoning_tokens", "tokens_per_day", "peak_to_average", "ttft_slo_s", "tpot_slo_s",
];

// KPI cards: result key, label, how to show it, whether the calibration's error band applies.
const CARDS = [
  { key: "cost_usd_per_mtok_output", label: "Cost per million output tokens, prompts charged separately", unit: "USD", banded: true },
  { key: "cost_usd_per_mtok_blended", label: "Cost per million tokens, blended", unit: "USD", banded: true },
  // an API price is blended (per prompt + output token of this mix): beside the blended cost,
  // not the cost per output token, so the two compare like with like
  { key: "api_usd_per_mtok_blended", label: "Cheapest API, blended (same token mix)", unit: "USD/Mtok" },
  { key: "output_tok_s_per_accelerator", label: "Output tokens/s per accelerator", unit: "tok/s", banded: true },
  { key: "output_tok_s_per_user", label: "Output tokens/s per user", unit: "tok/s", banded: true },
  // both latencies in milliseconds, so the two cards compare at a glance
  { key: "ttft_s", label: "Time to first token", unit: "ms", scale: 1e3, banded: true },
  { key: "tpot_s", label: "Time per output token", unit: "ms", scale: 1e3, banded: true },
  { key: "monthly_cost_usd", label: "Monthly cost", unit: "USD/month" },
  { key: "accelerators_needed", label: "Accelerators installed", unit: "" },
  { key: "facility_power_w", label: "Facility power", unit: "kW", scale: 1e-3 },
  { key: "tokens_per_joule", label: "Output tokens per joule", unit: "tok/J", banded: true },
  { key: "co2e_g_per_mtok", label: "CO\u2082e per million output tokens", unit: "g" },
];

const TABS = [
  { id: "frontier", label: "Frontier", path: "frontier", render: renderFrontier },
  { id: "cost", label: "Cost breakdown", path: "estimate", render: renderCost },
  { id: "accelerators", label: "Accelerators", path: "plan", render: (el) => renderCompare(el, "accelerator") },
  { id: "regions", label: "Regions", path: "plan", render: (el) => renderCompare(el, "region") },
  { id: "breakeven", label: "Buy, rent or API", path: "breakeven", render: renderBreakeven },
  { id: "apiprices", label: "API prices", path: "estimate", render: renderApiPrices },
  { id: "factory", label: "Factory", path: "factory", render: renderFactory },
  { id: "viability", label: "Viability", path: "viability", render: renderViability },
  { id: "market", label: "Market", path: "market", render: renderMarket },
  { id: "montecarlo", label: "Monte Carlo", path: "montecarlo", render: renderMonteCarlo },
  { id: "tornado", label: "Tornado", path: "sensitivity", render: renderTornado },
  { id: "projection", label: "Five-year projection", path: "project", render: renderProjection },
  { id: "roadmap", label: "Roadmap", path: "roadmap", render: renderRoadmap },
  { id: "demand", label: "Demand builder", path: "demand", render: renderDemand },
];

const page = {
  openapi: null, catalogs: {}, result: null, request: null, seq: 0, tab: "frontier",
  tabCache: {},
};
window.tokenfabPage = page; // what is shown, for the browser tests

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  if (typeof value !== "number") return String(value);
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return value.toExponential(digits - 1).replace("e+", "e");
  if (a >= 1000) return Math.round(value).toLocaleString("en-US");
  return Number(value.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const resp = await fetch(API + path, init);
  const text = await resp.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = text; }
  if (!resp.ok) throw new Error(problem(data, resp.status));
  return data;
}

// One line naming the field, from the API's 422 (a string, or FastAPI's list of errors).
function problem(data, status) {
  const detail = data && typeof data === "object" ? (data.detail ?? data.message ?? data.error) : data;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      const loc = (d.loc || []).filter((p) => p !== "body").join(".");
      return loc ? `${loc}: ${d.msg}` : d.msg;
    }).join("; ");
  }
  return `the server answered ${status}`;
}

function records(data) {
  if (Array.isArray(data)) return data;
  for (const key of ["options", "points", "products", "records", "rows", "items", "data"]) if (Array.isArray(data?.[key])) return data[key];
  return [];
}

function schemaOf(ref) {
  const name = ref.split("/").pop();
  return page.openapi.components.schemas[name];
}

// The request schema of POST /api/v1/<path>, or null when the server has no such endpoint.
function requestSchema(path) {
  const op = page.openapi?.paths?.["/api/v1/" + path]?.post;
  const body = op?.requestBody?.content?.["application/json"]?.schema;
  if (!body) return null;
  return body.$ref ? schemaOf(body.$ref) : body;
}

function fieldSchema(name) {
  const props = requestSchema("estimate")?.properties || {};
  return props[name] || {};
}

function flatSchema(prop) {
  // {anyOf: [{type, minimum, ...}, {type: null}]} -> the non-null branch merged with the outer
  const branch = (prop.anyOf || []).find((b) => b.type !== "null") || {};
  return { ...branch, ...prop };
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

function option(value, text) {
  const o = document.createElement("option");
  o.value = value; o.textContent = text;
  return o;
}

// ---------------------------------------------------------------------------------------
// The form: options from the API, state in the URL
// ---------------------------------------------------------------------------------------

async function loadOptions() {
  const [openapi, models, accs, regions, workloads, efficiency] = await Promise.all([
    fetch("openapi.json").then((r) => r.json()),
    api("catalog/models"), api("catalog/accelerators"), api("catalog/regions"),
    api("catalog/workloads"), api("catalog/efficiency").catch(() => []),
  ]);
  page.openapi = openapi;
  Object.assign(page.catalogs, {
    models: records(models), accelerators: records(accs), regions: records(regions),
    workloads: records(workloads), efficiency: records(efficiency),
  });

  const model = $("f-model");
  for (const [kind, label] of [["dense", "Dense"], ["moe", "Mixture of experts"]]) {
    const group = document.createElement("optgroup");
    group.label = label;
    for (const m of page.catalogs.models.filter((r) => r.kind === kind)) {
      group.append(option(m.id, `${m.name} (${m.developer})`));
    }
    if (group.children.length) model.append(group);
  }
  const acc = $("f-accelerator");
  for (const a of page.catalogs.accelerators) {
    const note = a.status === "shipping" ? "" : ` (${a.status})`;
    acc.append(option(a.id, `${a.vendor} ${a.name}${note}`));
  }
  const pre = $("f-prefill_accelerator");
  pre.append(option("", "None: one pool does both"));
  for (const a of page.catalogs.accelerators) pre.append(option(a.id, `${a.vendor} ${a.name}`));
  const region = $("f-region");
  for (const r of page.catalogs.regions) region.append(option(r.id, r.name));
  const workload = $("f-workload");
  workload.append(option("", "Custom lengths"));
  for (const w of page.catalogs.workloads) {
    workload.append(option(w.id, `${w.name} (${w.input_tokens} in, ${w.output_tokens} out)`));
  }
  // precision and ownership: the values the schema allows
  const precision = $("f-precision");
  precision.append(option("", "Model default"));
  const listed = /one of ([a-z0-9_, ]+)/i.exec(fieldSchema("precision").description || "");
  for (const p of listed ? listed[1].split(",").map((s) => s.trim()).filter(Boolean) : []) {
    precision.append(option(p, p));
  }
  const own = flatSchema(fieldSchema("ownership"));
  const owner = $("f-ownership");
  for (const o of own.enum || ["buy", "rent"]) owner.append(option(o, o === "buy" ? "Buy (own)" : "Rent (cloud)"));
  if (own.default) owner.value = own.default;
  if (fieldSchema("region").default) region.value = fieldSchema("region").default;
  // numeric limits and help from the schema
  for (const name of FIELDS) {
    const el = $("f-" + name);
    const prop = flatSchema(fieldSchema(name));
    if (!el || el.tagName !== "INPUT") continue;
    if (prop.description) el.title = prop.description;
    if (prop.minimum !== undefined && el.type === "number") el.min = prop.minimum;
    if (prop.maximum !== undefined && el.type === "number") el.max = prop.maximum;
    if (prop.default !== undefined && prop.default !== null) el.placeholder = String(prop.default);
  }
}

function formState() {
  const state = {};
  for (const name of FIELDS) {
    const v = $("f-" + name).value.trim();
    if (v !== "") state[name] = v;
  }
  return state;
}

function setForm(state) {
  for (const name of FIELDS) {
    const el = $("f-" + name);
    if (name in state) el.value = state[name];
    else if (el.tagName === "INPUT") el.value = "";
  }
  showWorkloadLengths();
}

function urlState() {
  const params = new URLSearchParams(location.search);
  const state = {};
  for (const name of FIELDS) if (params.has(name)) state[name] = params.get(name);
  return Object.keys(state).length ? state : null;
}

function writeUrl(state) {
  const params = new URLSearchParams(state);
  const url = `${location.pathname}?${params.toString()}${location.hash}`;
  history.replaceState(null, "", url);
}

// A field's text as the API's JSON: numbers as numbers, anything else as typed, so that the
// server (not the page) says what is wrong with it.
function toRequest(state) {
  const req = {};
  for (const [name, text] of Object.entries(state)) {
    const prop = flatSchema(fieldSchema(name));
    const numeric = prop.type === "integer" || prop.type === "number";
    req[name] = numeric && text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
  }
  return req;
}

function showWorkloadLengths() {
  const w = page.catalogs.workloads?.find((r) => r.id === $("f-workload").value);
  $("f-input_tokens").placeholder = w ? String(w.input_tokens) : "";
  $("f-output_tokens").placeholder = w ? String(w.output_tokens) : "";
  $("f-ttft_slo_s").placeholder = w?.ttft_slo_s ? String(w.ttft_slo_s) : "";
  $("f-tpot_slo_s").placeholder = w?.tpot_slo_s ? String(w.tpot_slo_s) : "";
}

// ---------------------------------------------------------------------------------------
// Estimate, KPI cards and the error band
// ---------------------------------------------------------------------------------------

// The error band of each KPI card: [low, high] in the result's units, or null.
// 1. The API's own bands (`<key>_low` / `<key>_high`, from the calibration's held-out
//    residuals): TTFT, TPOT and total throughput; throughput per accelerator moves with total
//    throughput, tokens/s per user is 1 / TPOT, and at a given fleet the cost of a token moves
//    inversely with throughput.
// 2. Else the held-out median error of the efficiency row the estimate used (+/- that share).
function errorBand(result) {
  const lo = (k) => result[k + "_low"], hi = (k) => result[k + "_high"];
  if (result.error_band_basis && lo("output_tok_s_total") != null) {
    const t = result.output_tok_s_total;
    const tLo = lo("output_tok_s_total") / t, tHi = hi("output_tok_s_total") / t;
    const scale = { output_tok_s_per_accelerator: [tLo, tHi], tokens_per_joule: [tLo, tHi],
      cost_usd_per_mtok_output: [1 / tHi, 1 / tLo], cost_usd_per_mtok_blended: [1 / tHi, 1 / tLo] };
    const coverage = result.error_band_coverage != null ? ` (enclosed ${fmt(result.error_band_coverage * 100, 2)}% of held-out runs)` : "";
    return {
      // a user calibration without its own band shows the built-in one: said, not hidden
      text: `Error band: ${result.error_band_basis}${coverage}.` +
        (result.error_band_note ? ` Note: ${result.error_band_note}.` : ""),
      of(key, raw) {
        if (lo(key) != null && hi(key) != null) return [lo(key), hi(key)];
        if (key === "output_tok_s_per_user" && lo("tpot_s") && hi("tpot_s")) {
          return [raw * result.tpot_s / hi("tpot_s"), raw * result.tpot_s / lo("tpot_s")];
        }
        return scale[key] ? [raw * scale[key][0], raw * scale[key][1]] : null;
      },
    };
  }
  const acc = page.catalogs.accelerators.find((a) => a.id === result.accelerator);
  const row = page.catalogs.efficiency.find(
    (e) => acc && e.family === acc.family && e.software === result.software,
  );
  if (result.calibrated && row && row.cv_median_abs_error != null) {
    const rel = row.cv_median_abs_error;
    const max = row.cv_max_abs_error != null ? `, largest ${fmt(row.cv_max_abs_error * 100, 2)}%` : "";
    return {
      text: `Error band: \u00b1${fmt(rel * 100, 2)}% is the held-out median error of ` +
        `the ${acc.family} / ${result.software} calibration (${row.rows_fitted} measured runs${max}).`,
      of: (key, raw) => [raw * (1 - rel), raw * (1 + rel)],
    };
  }
  return {
    text: `No error band: ${result.calibration_basis || "the " + (acc ? acc.family : result.accelerator) + " family has no fitted efficiencies"} ` +
      "(expect larger errors than calibrated families).",
    of: () => null,
  };
}

function renderKpis(result) {
  const band = errorBand(result);
  const box = $("kpis");
  box.replaceChildren();
  for (const c of CARDS) {
    const raw = result[c.key];
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.key = c.key;
    card.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    const label = document.createElement("div");
    label.className = "label"; label.textContent = c.label;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = raw === null || raw === undefined ? "n/a" : fmt(raw * (c.scale || 1));
    const unit = document.createElement("span");
    unit.className = "unit"; unit.textContent = c.unit ? ` ${c.unit}` : "";
    value.append(unit);
    card.append(label, value);
    const range = c.banded && raw !== null && raw !== undefined ? band.of(c.key, raw) : null;
    if (range) {
      const b = document.createElement("div");
      b.className = "band";
      const lo = range[0] * (c.scale || 1), hi = range[1] * (c.scale || 1);
      b.textContent = `${fmt(lo)} to ${fmt(hi)}`;
      b.setAttribute("aria-label", `error band ${fmt(lo)} to ${fmt(hi)} ${c.unit}`);
      card.append(b);
    }
    box.append(card);
  }
  $("band").textContent = band.text + (result.cost_error ? ` Money figures: ${result.cost_error}.` : "") +
    (result.energy_error ? ` Energy and carbon: ${result.energy_error}.` : "") +
    // plan would serve the scenario in another weight format: said, as the CLI says it
    (result.precision_note ? ` Weight format: ${result.precision_note}.` : "");
  // the warnings `tokenfab estimate` prints under its table: open when one is about the
  // figures themselves (queueing), folded when all are stale prices
  const lines = result.warnings ? result.warnings.split("\n") : [];
  const warnBox = $("warnings");
  warnBox.replaceChildren();
  warnBox.hidden = !lines.length;
  if (lines.length) {
    const details = document.createElement("details");
    details.open = lines.some((w) => !w.startsWith("stale price"));
    const summary = document.createElement("summary");
    summary.textContent = lines.length === 1 ? "1 warning" : `${lines.length} warnings`;
    const list = document.createElement("ul");
    list.append(...lines.map((w) => {
      const li = document.createElement("li");
      li.textContent = w;
      return li;
    }));
    details.append(summary, list);
    warnBox.append(details);
  }
  renderPools(result);
  // with two pools the layout and batch are the decode pool's; the prefill pool is named after
  const pooled = Boolean(result.prefill_accelerator);
  const count = pooled ? result.decode_accelerators : result.accelerators;
  const op = `${count} \u00d7 ${result.accelerator}${pooled ? " decoding" : ""}, TP${result.tensor_parallel}` +
    (result.pipeline_parallel > 1 ? ` PP${result.pipeline_parallel}` : "") +
    (result.expert_parallel > 1 ? ` EP${result.expert_parallel}` : "") +
    (result.attention_data_parallel > 1 ? ` DP${result.attention_data_parallel}` : "") +
    `, batch ${result.batch_size}, ${result.precision} weights, ${result.bound}-bound` +
    (pooled ? `; ${result.prefill_accelerators} \u00d7 ${result.prefill_accelerator} prefilling` : "");
  $("headline").textContent = `${result.model}: ${op}; ${result.region}, ${result.ownership}.`;
}

// The two pools of a deployment with a separate prefill accelerator, side by side: what the
// estimate's JSON gives for each (count, share of capacity used, IT power, cost an hour).
const POOL_ROWS = [
  ["Accelerator", (r, p) => (p === "prefill" ? r.prefill_accelerator : r.accelerator)],
  ["Accelerators", (r, p) => r[`${p}_accelerators`]],
  ["Utilisation", (r, p) => `${fmt(100 * r[`${p}_utilization`])} %`],
  ["IT power", (r, p) => (r[`${p}_power_w`] == null ? "n/a" : `${fmt(r[`${p}_power_w`] / 1e3)} kW`)],
  ["Cost", (r, p) => (r[`${p}_cost_usd_per_hour`] === null ? "n/a" : `${fmt(r[`${p}_cost_usd_per_hour`])} USD/h`)],
];

function renderPools(result) {
  const box = $("pools");
  box.replaceChildren();
  box.hidden = !result.prefill_accelerator;
  if (box.hidden) return;
  const table = document.createElement("table");
  const cap = document.createElement("caption");
  cap.textContent = `Two pools: ${result.accelerators} accelerators, KV cache over ` +
    `${fmt(result.kv_link_gb_s)} GB/s (${fmt(result.kv_transfer_s * 1e3)} ms a request)`;
  table.append(cap);
  const head = document.createElement("tr");
  head.append(document.createElement("td")); // the corner: no header text (axe)
  for (const text of ["Prefill", "Decode"]) {
    const th = document.createElement("th");
    th.scope = "col"; th.textContent = text;
    head.append(th);
  }
  table.append(head);
  for (const [label, value] of POOL_ROWS) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row"; th.textContent = label;
    tr.append(th);
    for (const pool of ["prefill", "decode"]) {
      const td = document.createElement("td");
      td.dataset.pool = pool;
      td.dataset.key = label;
      const v = value(result, pool);
      td.textContent = typeof v === "number" ? fmt(v) : String(v);
      tr.append(td);
    }
    table.append(tr);
  }
  box.append(table);
}

function showProblem(text) {
  const m = $("message");
  m.textContent = text;
  m.hidden = false;
}

function clearProblem() {
  $("message").hidden = true;
  $("message").textContent = "";
}

async function update() {
  const state = formState();
  writeUrl(state);
  const request = toRequest(state);
  const seq = ++page.seq;
  $("status").textContent = "Updating\u2026";
  document.body.dataset.busy = "1";
  try {
    const result = await api("estimate", request);
    if (seq !== page.seq) return;
    clearProblem();
    page.result = result; page.request = request; page.tabCache = {};
    renderKpis(result);
    $("status").textContent = "Up to date.";
    await renderTab();
  } catch (err) {
    if (seq !== page.seq) return;
    showProblem(err.message);
    $("status").textContent = "Not updated: fix the input named above.";
  } finally {
    if (seq === page.seq) delete document.body.dataset.busy;
  }
}

// ---------------------------------------------------------------------------------------
// Charts
// ---------------------------------------------------------------------------------------

// The title sits just above the plot area, left-aligned, and the top margin leaves a strip
// above it for Plotly's buttons (the modebar, top right), so the two never overlap.
const LAYOUT = {
  margin: { l: 70, r: 20, t: 72, b: 60 }, font: { size: 13, color: "#1a1a1a" },
  paper_bgcolor: "#fff", plot_bgcolor: "#fff", legend: { orientation: "h", y: -0.25 },
};
const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
const COLORS = ["#1f5fa8", "#b3261e", "#2e7d32", "#6a3d9a", "#c25e00", "#00707a", "#6d4c41", "#ad1457"];

function plot(el, data, layout) {
  // a figure, not role=img: the chart holds Plotly's buttons, and an image holds no controls
  const fig = document.createElement("figure");
  fig.setAttribute("aria-label", String(layout.title || "chart"));
  const div = document.createElement("div");
  div.className = "chart";
  fig.append(div);
  el.append(fig);
  // a narrow screen breaks the title after its colon and uses smaller type
  const narrow = window.innerWidth < 600;
  const title = narrow ? String(layout.title).replace(": ", ":<br>") : layout.title;
  const font = narrow ? { ...LAYOUT.font, size: 11 } : LAYOUT.font;
  const margin = narrow ? { l: 56, r: 8, t: 88, b: 56 } : LAYOUT.margin;
  const placed = { text: title, x: 0, xref: "container", xanchor: "left", y: 1, yref: "paper", yanchor: "bottom", pad: { l: 8, b: 12 } };
  window.Plotly.newPlot(div, data, { ...LAYOUT, ...layout, font, margin, title: placed }, CONFIG);
  return div;
}

function caption(el, text) {
  const p = document.createElement("p");
  p.className = "note"; p.textContent = text;
  el.append(p);
}

// Only the fields of the current request that another endpoint's request takes.
function requestFor(path, extra = {}) {
  const props = requestSchema(path)?.properties || {};
  const req = {};
  for (const [k, v] of Object.entries(page.request)) if (k in props) req[k] = v;
  return { ...req, ...extra };
}

async function renderFrontier(el) {
  const r = page.result;
  const body = requestFor("frontier", { accelerator: [r.accelerator], precision: r.precision });
  const points = records(await api("frontier", body));
  const x = points.map((p) => p.tok_s_per_user), y = points.map((p) => p.tok_s_per_accelerator);
  // two pools: the pair's frontier, output per accelerator of both pools
  const hw = r.prefill_accelerator ? `${r.accelerator} decode + ${r.prefill_accelerator} prefill` : r.accelerator;
  plot(el, [
    { x, y, mode: "lines+markers", name: `${hw} frontier`, line: { color: COLORS[0] },
      text: points.map((p) => `TP${p.tensor_parallel} PP${p.pipeline_parallel} EP${p.expert_parallel}` +
        (p.attention_data_parallel > 1 ? ` DP${p.attention_data_parallel}` : "") + ` batch ${p.batch_size}`) },
    { x: [r.output_tok_s_per_user], y: [r.output_tok_s_per_accelerator], mode: "markers",
      name: "operating point", marker: { color: COLORS[1], size: 14, symbol: "diamond" } },
  ], {
    title: `Throughput against interactivity: ${r.model} on ${hw} (${r.precision})`,
    xaxis: { title: { text: "output tokens/s per user" }, type: "log" },
    yaxis: { title: { text: "output tokens/s per accelerator" }, type: "log" },
  });
  caption(el, "Each point is the best layout and batch for that speed per user; the diamond is this estimate.");
}

function costLines(r) {
  return Object.keys(r).filter((k) => /^cost_.+_usd_per_hour$/.test(k) && k !== "cost_usd_per_accelerator_hour")
    .filter((k) => r[k] !== null && r[k] > 0)
    .map((k) => ({ name: k.replace(/^cost_/, "").replace(/_usd_per_hour$/, "").replace(/_/g, " "), usd_per_hour: r[k] }));
}

async function renderCost(el) {
  const r = page.result;
  const lines = costLines(r);
  if (!lines.length) { caption(el, `No cost breakdown: ${r.cost_error || "no price"}.`); return; }
  // each line's share of the accelerator-hour, times the cost per million output tokens
  const total = lines.reduce((s, l) => s + l.usd_per_hour, 0);
  const perMtok = lines.map((l) => (r.cost_usd_per_mtok_output ?? 0) * l.usd_per_hour / total);
  plot(el, [{
    type: "bar", orientation: "h", y: lines.map((l) => l.name), x: perMtok,
    marker: { color: COLORS[0] }, name: "USD per million output tokens",
    text: lines.map((l) => `${fmt(l.usd_per_hour)} USD/h`), textposition: "auto",
  }], {
    title: `Cost of a million output tokens by line (${r.ownership})`,
    xaxis: { title: { text: "USD per million output tokens, prompts charged separately" } }, yaxis: { automargin: true },
  });
  caption(el, `One accelerator-hour costs ${fmt(r.cost_usd_per_accelerator_hour)} USD (${r.cost_basis || ""}).`);
}

async function renderCompare(el, by) {
  const r = page.result;
  // the same demand for every option: the user's, else what this deployment serves
  const tokensPerDay = page.request.tokens_per_day ?? r.output_tok_s_total * 86400 * r.utilization;
  const regions = page.catalogs.regions.map((g) => g.id);
  const body = requestFor("plan", {
    tokens_per_day: tokensPerDay, ownership: [r.ownership],
    region: by === "region" ? regions : [r.region],
    accelerator: by === "region" ? [r.accelerator] : undefined,
  });
  if (by === "accelerator") delete body.accelerator;
  delete body.accelerators;
  const options = records(await api("plan", body)).filter((o) => o.feasible);
  const best = new Map();
  for (const o of options) {
    const key = o[by];
    if (!best.has(key) || o.cost_usd_per_mtok_output < best.get(key).cost_usd_per_mtok_output) best.set(key, o);
  }
  const rows = [...best.values()].sort((a, b) => a.cost_usd_per_mtok_output - b.cost_usd_per_mtok_output);
  const names = rows.map((o) => o[by]);
  const mine = by === "region" ? r.region : r.accelerator;
  const colors = names.map((n) => (n === mine ? COLORS[1] : COLORS[0]));
  plot(el, [{ type: "bar", x: names, y: rows.map((o) => o.cost_usd_per_mtok_output), marker: { color: colors }, name: "cost" }], {
    title: `Cost per million output tokens (prompts charged separately) by ${by}`, yaxis: { title: { text: "USD/Mtok" } }, xaxis: { automargin: true },
  });
  plot(el, [{ type: "bar", x: names, y: rows.map((o) => o.co2e_g_per_mtok), marker: { color: colors.map((c) => (c === COLORS[1] ? COLORS[1] : COLORS[2])) }, name: "carbon" }], {
    title: `Operational CO\u2082e per million output tokens by ${by}`, yaxis: { title: { text: "g CO\u2082e/Mtok" } }, xaxis: { automargin: true },
  });
  caption(el, `Cheapest feasible option of each ${by} (${r.ownership}) for ${fmt(tokensPerDay)} output tokens a day` +
    `${page.request.tokens_per_day ? "" : " (what this deployment serves)"}; ${mine} in red. ` +
    `${options.length} feasible options.`);
}

async function renderBreakeven(el) {
  const r = page.result;
  const a = await api("breakeven", requestFor("breakeven", { accelerator: r.accelerator, precision: r.precision }));
  const rows = a.rows || [];
  const x = rows.map((row) => row.tokens_per_day);
  const traces = [["buy", "buy_usd_per_month"], ["rent", "rent_usd_per_month"], ["API", "api_usd_per_month"]]
    .filter(([, k]) => rows.some((row) => row[k] !== null))
    .map(([name, k], i) => ({ x, y: rows.map((row) => row[k]), name, mode: "lines+markers", line: { color: COLORS[i] } }));
  // two pools: both accelerators, as the headline and the frontier name them
  const hw = r.prefill_accelerator ? `${r.accelerator} decode + ${r.prefill_accelerator} prefill` : r.accelerator;
  plot(el, traces, {
    title: `Monthly cost against volume: ${r.model} on ${hw}`,
    xaxis: { title: { text: "output tokens a day" }, type: "log" },
    yaxis: { title: { text: "USD/month" }, type: "log" },
  });
  const first = rows.length ? rows[0].tokens_per_day : 0;
  const cross = (v, what) => (v === null || v === undefined ? `${what}: no crossover between ${fmt(first)} and ${fmt(rows[rows.length - 1]?.tokens_per_day)} output tokens a day`
    : v <= first ? `${what}: at every volume shown` : `${what}: above ${fmt(v)} output tokens a day`);
  // what each volume installs: the same deployment estimate gives for that demand
  const group = a.scenario && a.scenario.accelerators;
  // the weight format the rows are sized in (this deployment's, passed as precision)
  const formats = [...new Set(rows.flatMap((row) => [row.precision, row.rent_precision]))].join(" or ");
  const installs = group
    ? `Each volume installs the fewest whole groups of ${group} ${r.accelerator}${r.prefill_accelerator ? " decoding (the prefill pool sized for it)" : ""} in ${formats} that carry it, priced as the estimate of that count and demand`
    : `Each volume installs the deployment plan sizes for it in ${formats}, priced as its estimate`;
  caption(el, `${cross(a.crossover_buy_vs_api_tokens_per_day, "Buying beats the API")}. ` +
    `${cross(a.crossover_buy_vs_rent_tokens_per_day, "Buying beats renting")}. ${installs}; rent at the cheapest on-demand offer.`);
}

// API list prices over time (the api-prices catalog, by effective date) beside this
// deployment's own cost per million output tokens.
async function renderApiPrices(el) {
  const r = page.result;
  const rows = records(await api("catalog/api-prices"));
  const mine = rows.filter((p) => p.model_id === r.model).sort((a, b) => String(a.effective_date).localeCompare(String(b.effective_date)));
  const providers = [...new Set(mine.map((p) => p.provider))];
  const traces = providers.map((prov, i) => {
    const ps = mine.filter((p) => p.provider === prov);
    return { x: ps.map((p) => p.effective_date), y: ps.map((p) => p.output_usd_per_mtok), name: `${prov} (output price)`, mode: "lines+markers", line: { color: COLORS[(i + 2) % COLORS.length], shape: "hv" } };
  });
  if (r.cost_usd_per_mtok_output !== null) {
    const dates = mine.map((p) => p.effective_date);
    const today = new Date().toISOString().slice(0, 10);
    traces.push({ x: [dates[0] || today, today], y: [r.cost_usd_per_mtok_output, r.cost_usd_per_mtok_output], name: "this deployment's cost", mode: "lines", line: { color: COLORS[1], dash: "dash" } });
  }
  plot(el, traces, {
    title: `API prices of ${r.model} against this deployment's cost`,
    yaxis: { title: { text: "USD per million output tokens, prompts charged separately" }, rangemode: "tozero" }, xaxis: { title: { text: "effective date" } },
  });
  // like with like: an API's output price bills output tokens alone (prompts at the input
  // price), as this deployment's cost per output token is decode's share (prompts billed on input)
  caption(el, mine.length ? `${mine.length} list prices in the api-prices catalog (tokenfab catalog api-prices --sources). ` +
    "Both lines are per output token with the prompt priced apart: an API's output price, and this deployment's decode share of its cost; the blended cards compare the whole bill."
    : `The api-prices catalog has no price for ${r.model}.`);
}

async function renderFactory(el) {
  const r = page.result;
  const f = await api("factory", requestFor("factory", { accelerator: [r.accelerator], region: r.region }));
  const one = Array.isArray(f) ? f[0] : (f.factories ? f.factories[0] : f);
  const tiers = one.tiers || [];
  plot(el, [{ type: "bar", x: tiers.map((t) => t.name), y: tiers.map((t) => t.revenue_usd_per_year), name: "revenue", marker: { color: COLORS[2] } },
    { type: "bar", x: tiers.map((t) => t.name), y: tiers.map((t) => t.cost_usd_per_year), name: "cost", marker: { color: COLORS[1] } }], {
    title: `A ${fmt(one.power_mw)} MW factory of ${one.accelerator}: revenue and cost a year by price tier`,
    yaxis: { title: { text: "USD/year" } }, barmode: "group",
  });
  const d = one.demand;
  const blend = (one.notes || []).find((n) => n.startsWith("blended tiers:"));
  caption(el, `${fmt(one.accelerators)} accelerators' worth of power (fractional: the power over one accelerator's draw), ${fmt(one.tokens_per_year)} output tokens a year, margin ` +
    `${one.margin === null ? "n/a" : fmt(one.margin * 100) + "%"}, revenue ` +
    `${fmt(one.revenue_usd_per_accelerator_hour)} USD per accelerator-hour.` +
    (blend ? ` Price basis: ${blend.replace("blended tiers: ", "free, medium and high are blended: ")}.` : "") +
    (d && d.share_of_facility !== null
      ? ` The demand of ${fmt(d.tokens_per_day)} output tokens a day uses ${fmt(d.share_of_facility * 100)}% ` +
        `of it (${fmt(d.power_mw_needed)} MW).`
      : "") +
    (r.prefill_accelerator
      ? ` Each tier runs on ${one.accelerator} alone: the factory puts a separate pool only on ` +
        "tiers out of its reach (factory --decode-accelerator)."
      : ""));
}

async function renderViability(el) {
  const r = page.result;
  // the business models of the seed's table, beside this deployment's cost of a request
  const list = records(await api("viability", {}));
  if (!list.length) { caption(el, "No viability rows."); return; }
  plot(el, [{
    type: "bar", x: list.map((v) => v.name), y: list.map((v) => (v.margin ?? 0) * 100),
    marker: { color: list.map((v) => ((v.margin ?? 0) >= (v.target_margin ?? 0) ? COLORS[2] : COLORS[1])) },
    name: "gross margin", text: list.map((v) => v.verdict), textposition: "auto",
  }], {
    title: "Gross margin of AI business models", yaxis: { title: { text: "gross margin, %" } },
    xaxis: { automargin: true },
  });
  caption(el, `Green: at or above the target margin. This deployment costs ${fmt(r.cost_usd_per_request)} USD ` +
    "per request (tokenfab viability --cost-usd-per-request ... --revenue-usd-per-request ... prices one product).");
}

async function renderMarket(el) {
  const m = await api("market", { samples: 0 });
  const years = m.years || [];
  plot(el, [{ x: years.map((y) => y.year), y: years.map((y) => y.market_usd), mode: "lines+markers", name: "spend", line: { color: COLORS[0] } }], {
    title: `Inference market, ${m.scenario}`, yaxis: { title: { text: "USD/year" }, type: "log" }, xaxis: { title: { text: "year" } },
  });
  caption(el, m.source || "");
}

// Monte Carlo: the spread (P5 to P95) of the headline KPIs around their median, in per cent.
async function renderMonteCarlo(el) {
  const keys = ["cost_usd_per_mtok_output", "cost_usd_per_mtok_blended", "output_tok_s_per_accelerator", "tokens_per_joule", "co2e_g_per_mtok"];
  const m = await api("montecarlo", requestFor("montecarlo", { samples: 2000 }));
  const rows = keys.filter((k) => m.kpis?.[k]?.p50);
  const label = (k) => CARDS.find((c) => c.key === k)?.label || k;
  const spread = rows.map((k) => m.kpis[k]);
  const lo = spread.map((s) => (s.p5 / s.p50 - 1) * 100), hi = spread.map((s) => (s.p95 / s.p50 - 1) * 100);
  plot(el, [{
    type: "bar", orientation: "h", y: rows.map(label), base: lo, x: hi.map((h, i) => h - lo[i]),
    marker: { color: COLORS[0] }, name: "P5 to P95",
    hovertext: spread.map((s) => `P5 ${fmt(s.p5)}, median ${fmt(s.p50)}, P95 ${fmt(s.p95)}`),
  }], {
    title: "Monte Carlo: P5 to P95 of each figure around its median",
    xaxis: { title: { text: "% from the median" }, zeroline: true }, yaxis: { automargin: true },
  });
  caption(el, `${fmt(m.samples)} samples of the inputs' published ranges; ${fmt(m.feasible_share * 100)}% still run and meet the targets. ` +
    rows.map((k, i) => `${label(k)}: ${fmt(spread[i].p5)} to ${fmt(spread[i].p95)} (median ${fmt(spread[i].p50)})`).join("; ") + ".");
}

// Tornado: each uncertain input swung alone, largest effect on the blended cost first.
async function renderTornado(el) {
  const t = await api("sensitivity", requestFor("sensitivity", { method: "tornado" }));
  const bars = (t.tornado || []).slice(0, 12).reverse();
  if (!bars.length) { caption(el, "No uncertain input moves this KPI."); return; }
  const base = t.base ?? 0;
  plot(el, [
    { type: "bar", orientation: "h", y: bars.map((b) => b.input), x: bars.map((b) => (b.kpi_at_low ?? base) - base), base, name: "input at its low value", marker: { color: COLORS[0] } },
    { type: "bar", orientation: "h", y: bars.map((b) => b.input), x: bars.map((b) => (b.kpi_at_high ?? base) - base), base, name: "input at its high value", marker: { color: COLORS[1] } },
  ], { title: `Tornado: ${t.kpi}`, barmode: "overlay", yaxis: { automargin: true }, xaxis: { title: { text: t.kpi } } });
  caption(el, `Base ${fmt(t.base)}; ${(t.not_mattering || []).length} inputs do not move it.`);
}

// The scenario as the `scenario` object of project and roadmap, with a demand: the user's, else
// what this deployment serves (a projection grows a demand, so it needs one).
function scenarioWithDemand() {
  const r = page.result;
  const sc = { ...page.request };
  if (sc.tokens_per_day === undefined) sc.tokens_per_day = r.output_tok_s_total * 86400 * r.utilization;
  return sc;
}

// Projection: cumulative cash of buying, renting and an API, year by year.
async function renderProjection(el) {
  const p = await api("project", { scenario: scenarioWithDemand(), years: 5 });
  const years = p.years || [];
  const traces = ["buy", "rent", "api"].filter((o) => years.some((y) => y[`${o}_cumulative_cash_usd`] != null))
    .map((o, i) => ({ x: years.map((y) => y.calendar_year), y: years.map((y) => y[`${o}_cumulative_cash_usd`]), name: o, mode: "lines+markers", line: { color: COLORS[i] } }));
  plot(el, traces, { title: `Projection: cumulative cash of ${p.model} on ${p.accelerator}`, yaxis: { title: { text: "USD" } }, xaxis: { title: { text: "year" } } });
  for (const n of p.notes || []) caption(el, n);
}

// Roadmap: each cost-saving lever re-estimated alone (saving in USD per million output tokens,
// negative where it costs more here), then the staged plan that combines the best ones.
async function renderRoadmap(el) {
  const m = await api("roadmap", { scenario: { ...page.request } });
  const levers = (m.levers || []).filter((l) => l.applicable && l.saving_usd_per_mtok !== null);
  if (!levers.length) { caption(el, "No lever applies to this scenario."); return; }
  const rows = [...levers].reverse(); // largest saving on top
  plot(el, [{
    type: "bar", orientation: "h", y: rows.map((l) => l.lever), x: rows.map((l) => l.saving_usd_per_mtok),
    marker: { color: rows.map((l) => (l.saving_usd_per_mtok >= 0 ? COLORS[2] : COLORS[1])) },
    name: "saving", hovertext: rows.map((l) => `${l.change}: ${fmt(l.usd_per_mtok)} USD/Mtok`),
  }], {
    title: `Roadmap: what each lever saves of ${fmt(m.base.usd_per_mtok)} USD/Mtok`,
    xaxis: { title: { text: "saving, USD per million output tokens" }, zeroline: true }, yaxis: { automargin: true },
  });
  const stages = (m.plan || []).map((s) => `stage ${s.stage} (${s.levers.join(" + ")}): ${fmt(s.usd_per_mtok)} USD/Mtok, ` +
    `${fmt(s.saving_share * 100)}% less`);
  caption(el, "USD/Mtok here is all of a request's cost over its output tokens (prompt processing " +
    "included, so above the output share on the card). Green saves, red costs more here. " +
    `Staged plan: ${stages.join("; ") || "none"}.`);
}

// Demand builder: users of each usage archetype -> output tokens a day and the peak; the
// result can become the calculator's demand.
async function renderDemand(el) {
  const names = page.catalogs.archetypes || (page.catalogs.archetypes = await api("demand/archetypes"));
  const form = document.createElement("form");
  form.className = "demand"; form.noValidate = true;
  form.setAttribute("aria-label", "Users of each usage archetype");
  for (const [id, a] of Object.entries(names)) {
    const label = document.createElement("label");
    label.htmlFor = "d-" + id;
    label.textContent = `${id}: ${a.description} `;
    const unit = document.createElement("span");
    unit.className = "unit"; unit.textContent = "(users)";
    label.append(unit);
    const input = document.createElement("input");
    input.id = "d-" + id; input.name = id; input.type = "number"; input.inputMode = "numeric"; input.min = "1";
    input.value = page.demandUsers?.[id] ?? (id === "chat" ? "100000" : "");
    form.append(label, input);
  }
  const go = document.createElement("button");
  go.type = "submit"; go.textContent = "Build the demand";
  const use = document.createElement("button");
  use.type = "button"; use.id = "d-use"; use.textContent = "Use as the calculator's demand"; use.disabled = true;
  const buttons = document.createElement("div");
  buttons.className = "downloads"; buttons.append(go, use);
  form.append(buttons);
  const out = document.createElement("div");
  out.id = "demand-out"; out.setAttribute("aria-live", "polite");
  el.append(form, out);

  const build = async () => {
    const entries = [...form.querySelectorAll("input")].filter((i) => i.value.trim() !== "")
      .map((i) => ({ archetype: i.name, users: Number(i.value) }));
    page.demandUsers = Object.fromEntries(entries.map((e) => [e.archetype, String(e.users)]));
    out.replaceChildren();
    if (!entries.length) { caption(out, "Give the users of at least one archetype."); use.disabled = true; return; }
    let d;
    try {
      d = await api("demand", { archetypes: entries });
    } catch (err) {
      caption(out, err.message); use.disabled = true; return;
    }
    page.demand = d;
    const rows = d.archetypes;
    plot(out, [
      { type: "bar", x: rows.map((a) => a.archetype), y: rows.map((a) => a.tokens_per_day), name: "output tokens a day", marker: { color: COLORS[0] } },
      { type: "bar", x: rows.map((a) => a.archetype), y: rows.map((a) => a.input_tokens_per_day), name: "prompt tokens a day", marker: { color: COLORS[5] } },
    ], {
      title: `Demand: ${fmt(d.tokens_per_day)} output tokens a day`, barmode: "group",
      yaxis: { title: { text: "tokens/day" }, type: "log" }, xaxis: { automargin: true },
    });
    caption(out, `${fmt(d.calls_per_day)} model calls a day; peak ${fmt(d.peak_requests_per_s)} requests/s ` +
      `(peak over average ${fmt(d.peak_to_average)}); mean lengths ${fmt(d.scenario.input_tokens)} prompt and ` +
      `${fmt(d.scenario.output_tokens)} output tokens.`);
    use.disabled = false;
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); e.stopPropagation(); build(); });
  form.addEventListener("input", (e) => e.stopPropagation()); // not the calculator's form
  use.addEventListener("click", () => {
    const sc = page.demand.scenario;
    const state = { ...formState(), workload: "", tokens_per_day: String(sc.tokens_per_day),
      peak_to_average: String(sc.peak_to_average), input_tokens: String(sc.input_tokens),
      output_tokens: String(sc.output_tokens), reasoning_tokens: String(sc.reasoning_tokens || 0) };
    delete state.accelerators; // sized to the new demand
    setForm(state);
    update();
  });
  await build();
}

function buildTabs() {
  const list = $("tabs"), panels = $("panels");
  // a tab whose endpoint this server has
  const tabs = TABS.filter((t) => requestSchema(t.path));
  for (const t of tabs) {
    const b = document.createElement("button");
    b.type = "button"; b.role = "tab"; b.id = "tab-" + t.id; b.textContent = t.label;
    b.setAttribute("aria-controls", "panel-" + t.id);
    b.addEventListener("click", () => selectTab(t.id, true));
    b.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(t);
      const next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
      if (next) { e.preventDefault(); selectTab(next.id, true); $("tab-" + next.id).focus(); }
    });
    list.append(b);
    const p = document.createElement("div");
    p.role = "tabpanel"; p.id = "panel-" + t.id; p.className = "panel"; p.tabIndex = 0;
    p.setAttribute("aria-labelledby", b.id);
    panels.append(p);
  }
  page.tabs = tabs;
  const wanted = location.hash.replace("#", "");
  selectTab(tabs.some((t) => t.id === wanted) ? wanted : tabs[0]?.id, false);
}

function selectTab(id, render) {
  page.tab = id;
  for (const t of page.tabs) {
    const on = t.id === id;
    $("tab-" + t.id).setAttribute("aria-selected", on ? "true" : "false");
    $("tab-" + t.id).tabIndex = on ? 0 : -1;
    $("panel-" + t.id).hidden = !on;
  }
  if (render) {
    history.replaceState(null, "", `${location.pathname}${location.search}#${id}`);
    renderTab();
  }
}

async function renderTab() {
  const t = page.tabs.find((x) => x.id === page.tab);
  if (!t || !page.result || page.tabCache[t.id]) return;
  const el = $("panel-" + t.id);
  el.replaceChildren();
  page.tabCache[t.id] = true;
  const seq = page.seq;
  el.dataset.state = "loading";
  try {
    await t.render(el);
    if (seq === page.seq) el.dataset.state = "ready";
  } catch (err) {
    el.replaceChildren();
    caption(el, `This chart is not available for these inputs: ${err.message}`);
    el.dataset.state = "error";
  }
}

// ---------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------

function save(name, type, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

function csvCell(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function resultUnits() {
  const op = page.openapi.paths["/api/v1/estimate"].post;
  const ref = op.responses?.["200"]?.content?.["application/json"]?.schema?.$ref;
  const props = ref ? schemaOf(ref).properties || {} : {};
  return Object.fromEntries(Object.entries(props).map(([k, p]) => [k, p.unit || ""]));
}

function download(kind) {
  const r = page.result;
  if (!r) return;
  if (kind === "json") save("tokenfab-estimate.json", "application/json", JSON.stringify(r, null, 2) + "\n");
  if (kind === "csv") {
    const units = resultUnits();
    const lines = ["key,value,unit", ...Object.entries(r).map(([k, v]) => [k, v, units[k] || ""].map(csvCell).join(","))];
    save("tokenfab-estimate.csv", "text/csv", lines.join("\n") + "\n");
  }
  if (kind === "yaml") {
    const lines = ["# tokenfab scenario: tokenfab estimate --scenario THIS_FILE"];
    for (const [k, v] of Object.entries(page.request)) lines.push(`${k}: ${typeof v === "number" ? v : JSON.stringify(v)}`);
    save("scenario.yaml", "application/yaml", lines.join("\n") + "\n");
  }
}

async function downloadReport() {
  $("status").textContent = "Writing the report\u2026";
  try {
    const resp = await fetch(API + "report", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(page.request),
    });
    const text = await resp.text();
    if (!resp.ok) { let d = text; try { d = JSON.parse(text); } catch (e) { /* text */ } throw new Error(problem(d, resp.status)); }
    save("tokenfab-report.html", "text/html", text);
    $("status").textContent = "Report downloaded.";
  } catch (err) {
    showProblem(err.message);
  }
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    $("status").textContent = "Link copied: it opens this scenario.";
  } catch (e) {
    $("status").textContent = `Share this link: ${location.href}`;
  }
}

// ---------------------------------------------------------------------------------------

async function main() {
  try {
    await loadOptions();
  } catch (err) {
    showProblem(`Could not load the catalogs: ${err.message}`);
    return;
  }
  setForm(urlState() || START);
  buildTabs();
  const later = debounce(update, DEBOUNCE_MS);
  $("form").addEventListener("input", later);
  $("form").addEventListener("change", (e) => { if (e.target.id === "f-workload") showWorkloadLengths(); later(); });
  $("form").addEventListener("submit", (e) => { e.preventDefault(); update(); });
  $("dl-json").addEventListener("click", () => download("json"));
  $("dl-csv").addEventListener("click", () => download("csv"));
  $("dl-yaml").addEventListener("click", () => download("yaml"));
  $("dl-report").addEventListener("click", downloadReport);
  $("copy-link").addEventListener("click", copyLink);
  await update();
  document.body.dataset.ready = "1";
}

window.addEventListener("DOMContentLoaded", main);
