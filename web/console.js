// Cordon operator console (docs/console.md). No build step, no external
// resources. Every piece of data goes into the page through textContent.
const TOKEN_KEY = "cordon.token";
const REFRESH_MS = 3000;
let selected = null; // id of the incident whose detail is shown
let timer = null;

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function when(ms) {
  if (ms === null || ms === undefined || ms === "") return "";
  const d = typeof ms === "number" ? new Date(ms) : new Date(String(ms));
  return isNaN(d.getTime()) ? String(ms) : d.toLocaleString();
}

function short(v) {
  if (v === null || v === undefined) return "";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 157) + "…" : s;
}

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + localStorage.getItem(TOKEN_KEY) } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!r.ok) {
    const msg = data && data.error ? data.error.message : r.status + " " + r.statusText;
    const err = new Error(method + " " + path + ": " + msg);
    err.status = r.status;
    throw err;
  }
  return data;
}

function button(label, fn) {
  const b = el("button", label);
  b.type = "button";
  b.addEventListener("click", async (ev) => {
    ev.stopPropagation();
    b.disabled = true;
    try {
      await fn();
      setStatus(label + ": done");
    } catch (e) {
      setStatus(e.message, true);
    }
    b.disabled = false;
    refresh();
  });
  return b;
}

function setStatus(msg, bad) {
  const s = $("status");
  s.textContent = msg;
  s.className = bad ? "error" : "muted";
}

function fill(tableId, rows, empty, cols) {
  const tb = $(tableId).querySelector("tbody");
  tb.replaceChildren();
  if (!rows.length) {
    const tr = el("tr");
    const td = el("td", empty, "empty");
    td.colSpan = cols;
    tr.append(td);
    tb.append(tr);
  }
  for (const r of rows) tb.append(r);
}

function row(cells) {
  const tr = el("tr");
  for (const c of cells) {
    const td = el("td");
    if (c instanceof Node) td.append(c);
    else td.textContent = c === null || c === undefined ? "" : String(c);
    tr.append(td);
  }
  return tr;
}

async function loadIncidents() {
  const data = await api("GET", "/api/v1/incidents?status=OPEN");
  const rows = (data.incidents || []).map((i) => {
    const tr = row([i.title, i.impact, i.status, when(i.creationTime)]);
    tr.className = "clickable" + (i.id === selected ? " selected" : "");
    tr.addEventListener("click", () => {
      selected = selected === i.id ? null : i.id;
      refresh();
    });
    return tr;
  });
  fill("incidents", rows, "no open incident", 4);
  if (selected && !(data.incidents || []).some((i) => i.id === selected)) selected = null;
  await loadDetail();
}

async function loadDetail() {
  const box = $("incident-detail");
  if (!selected) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const id = selected;
  const inc = await api("GET", "/api/v1/incidents/" + encodeURIComponent(id));
  const parts = [el("h3", inc.title)];
  parts.push(el("p", "Impact " + inc.impact + " · " + inc.status + " · created " + when(inc.creationTime) +
    (inc.acknowledgedTime ? " · acknowledged " + when(inc.acknowledgedTime) : "")));
  if (inc.summary) parts.push(el("p", inc.summary));

  const actions = el("p");
  const eng = inc.engagement || {};
  const runs = Array.isArray(eng.runs) ? eng.runs : [];
  // who can acknowledge: the paged contacts (an escalation run pages its targets) and
  // directly engaged contacts, minus those who already did
  const acked = new Set((Array.isArray(eng.acks) ? eng.acks : []).map((a) => a.contact));
  const ackable = new Set();
  for (const p of Array.isArray(eng.pages) ? eng.pages : []) if (p.contact) ackable.add(p.contact);
  for (const run of runs) if (run.contact && !run.escalation) ackable.add(run.contact);
  for (const c of ackable) {
    if (acked.has(c)) continue;
    actions.append(button("Acknowledge (" + c + ")", () =>
      api("POST", "/api/v1/incidents/" + encodeURIComponent(id) + "/ack",
        { contact: c, note: "acknowledged from the console" })), " ");
  }
  actions.append(button("Resolve", () =>
    api("POST", "/api/v1/incidents/" + encodeURIComponent(id) + "/resolve", {})));
  parts.push(actions);

  parts.push(el("h4", "Engagement"));
  const eul = el("ul");
  if (!runs.length) eul.append(el("li", "no engagement", "muted"));
  for (const run of runs) {
    eul.append(el("li", run.contact + ": " + run.state + (run.stage !== undefined ? " (stage " + run.stage + ")" : "")));
  }
  const acks = Array.isArray(eng.acks) ? eng.acks : [];
  for (const a of acks) {
    eul.append(el("li", "ack by " + (a.who || a.contact || "?") + " " + when(a.timeMs) +
      (a.channel ? " via " + a.channel : "") + (a.via ? " (" + a.via + ")" : "")));
  }
  parts.push(eul);

  parts.push(el("h4", "Related items"));
  const rul = el("ul");
  const items = Array.isArray(inc.relatedItems) ? inc.relatedItems : [];
  if (!items.length) rul.append(el("li", "none", "muted"));
  for (const it of items) {
    const idf = it.identifier || {};
    rul.append(el("li", (it.title ? it.title + ": " : "") + (idf.type || "") + " " + short(idf.value)));
  }
  parts.push(rul);

  parts.push(el("h4", "Timeline"));
  const tul = el("ul");
  const tl = Array.isArray(inc.timeline) ? inc.timeline : [];
  if (!tl.length) tul.append(el("li", "empty", "muted"));
  for (const ev of tl) {
    const li = el("li", when(ev.eventTime) + " " + (ev.eventType || "") + " ");
    li.append(el("code", short(ev.eventData)));
    tul.append(li);
  }
  parts.push(tul);
  box.replaceChildren(...parts);
  box.hidden = false;
}

async function loadViolations() {
  const data = await api("GET", "/api/v1/violations?active=true&limit=100");
  const rows = (data.violations || []).map((v) =>
    row([v.thingName, v.securityProfileName, v.behavior ? v.behavior.name : "", short(v.metricValue),
      when(v.startTime)]));
  fill("violations", rows, "no active violation", 5);
}

async function loadQuarantined() {
  const data = await api("GET", "/api/v1/things");
  const rows = (data.things || []).filter((t) => t.quarantined ||
    (Array.isArray(t.groups) && t.groups.includes("QUARANTINED"))).map((t) =>
    row([t.thingName, (t.groups || []).join(", "), button("Release", () =>
      api("DELETE", "/api/v1/quarantine/" + encodeURIComponent(t.thingName)))]));
  fill("quarantined", rows, "no quarantined thing", 3);
}

async function loadExecutions() {
  const data = await api("GET", "/api/v1/executions");
  const list = (data.executions || []).slice(0, 25);
  const rows = list.map((x) => {
    const waiting = /waiting/i.test(String(x.status));
    const act = waiting ? button("Resume", () =>
      api("POST", "/api/v1/executions/" + encodeURIComponent(x.executionId) + "/signals",
        { type: "Resume", step: x.currentStep })) : "";
    return row([x.document, x.status, waiting ? x.currentStep : (x.currentStep || ""), when(x.createdAt), act]);
  });
  fill("executions", rows, "no execution", 5);
}

async function refresh() {
  if (!localStorage.getItem(TOKEN_KEY)) return;
  try {
    await Promise.all([loadIncidents(), loadViolations(), loadQuarantined(), loadExecutions()]);
    setStatus("updated " + new Date().toLocaleTimeString());
  } catch (e) {
    if (e.status === 401) {
      logout("the token was refused");
      return;
    }
    setStatus(e.message, true);
  }
}

function showApp() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  refresh();
  if (!timer) timer = setInterval(refresh, REFRESH_MS);
}

function logout(why) {
  localStorage.removeItem(TOKEN_KEY);
  if (timer) clearInterval(timer);
  timer = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = why || "";
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token").value.trim();
  if (!t) return;
  localStorage.setItem(TOKEN_KEY, t);
  $("token").value = "";
  $("login-error").textContent = "";
  showApp();
});
$("logout").addEventListener("click", () => logout(""));
document.body.dataset.console = "ready";
if (localStorage.getItem(TOKEN_KEY)) showApp();
