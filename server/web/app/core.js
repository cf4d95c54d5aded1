// core.js - what every page uses: the API client, DOM building (text is always escaped: only
// textContent and attributes, never HTML strings), formatting in the platform's time zone and
// currency, tables with CSV links, and loading the npm packages when a page needs them.
import { t, lang, known } from './i18n.js';
import { FULLCALENDAR, ECHARTS } from './vendor.js';

export const state = { platform: null, me: null };

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

export class ApiError extends Error {
  constructor(status, data) {
    super((data && data.message) || `HTTP ${status}`);
    this.status = status;
    this.data = data || {};
  }
}

// Calls /api/v1<path>. The session cookie goes with it; a write carries the CSRF token the
// login left in the ls_csrf cookie (readable by this origin only). Throws ApiError.
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const csrf = cookie('ls_csrf');
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  const r = await fetch('/api/v1' + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// PUT a file as the body of /api/v1<path> (its own media type), with the CSRF token. Throws
// ApiError.
export async function upload(path, file) {
  const headers = { Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream' };
  const csrf = cookie('ls_csrf');
  if (csrf) headers['X-CSRF-Token'] = csrf;
  const r = await fetch('/api/v1' + path, { method: 'PUT', headers, credentials: 'same-origin', body: file });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// Every page of a list, up to max items.
export async function apiAll(path, max = 5000) {
  const sep = path.includes('?') ? '&' : '?';
  const items = [];
  for (let offset = 0; offset < max;) {
    const page = await api(`${path}${sep}limit=500&offset=${offset}`);
    items.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total) break;
  }
  return items;
}

// Instrument names by id (the lists of the API name instruments by id), fetched once a session.
let names = null;
export async function instrumentNames() {
  if (!names) {
    names = apiAll(state.me ? '/instruments' : '/catalog').then(
      (items) => Object.fromEntries(items.map((i) => [i.id, i.name])), () => ({}));
  }
  return names;
}

export function forgetNames() {
  names = null;
}

// An instrument's name, with its id for those who work by ids.
export function instName(map, id) {
  return map[id] ? `${map[id]} (${id})` : id;
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

// h('a', {href: '#/x', onclick: fn}, 'text', child...) - attributes by setAttribute, events by
// addEventListener, strings as text nodes. A style attribute is never set (the CSP forbids it).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'required') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function msg(kind, text) {
  return h('div', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

export function toast(kind, text) {
  const box = document.getElementById('toast');
  const m = msg(kind, text);
  box.replaceChildren(m);
  setTimeout(() => { if (m.parentNode) m.remove(); }, 6000);
}

// The message of an API error for a person: the server's text, prefixed by what it means.
export function errorText(e) {
  if (!(e instanceof ApiError)) return String(e && e.message ? e.message : e);
  if (e.status === 409 && e.data.conflict) return t('conflict_taken', { id: e.data.conflict });
  if (e.status === 401) return t('err_login');
  if (e.status === 403) return t('err_denied') + ' ' + e.message;
  if (e.status === 422 && lang() === 'zh' && e.data.rule && known('rule/' + e.data.rule)) {
    return t('err_rule') + ' ' + t('rule/' + e.data.rule, { limit: e.data.limit });
  }
  if (e.status === 422) return t('err_rule') + ' ' + e.message;
  return e.message;
}

/* --- formatting -------------------------------------------------------------------------- */

export function tz() {
  return (state.platform && state.platform.timezone) || 'UTC';
}

function dtf(opts) {
  return new Intl.DateTimeFormat(lang() === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: tz(), ...opts });
}

// Dates as year-month-day in both languages (a day-first or month-first date misleads someone).
export function fmtTime(iso) {
  if (!iso) return '';
  const p = wallParts(Date.parse(iso));
  const sep = lang() === 'zh' ? '/' : '-';
  return `${p.year}${sep}${p.month}${sep}${p.day} ${String(+p.hour % 24).padStart(2, '0')}:${p.minute}`;
}

export function fmtDate(iso) {
  if (!iso) return '';
  const p = wallParts(Date.parse(iso));
  const sep = lang() === 'zh' ? '/' : '-';
  return `${p.year}${sep}${p.month}${sep}${p.day}`;
}

export function fmtClock(iso) {
  return dtf({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

// Integer minor units (fen) as yuan with two decimals, without floating-point drift.
export function fmtMoney(minor) {
  if (minor === null || minor === undefined) return '';
  const per = (state.platform && state.platform.currency && state.platform.currency.per_major) || 100;
  const neg = minor < 0;
  const abs = Math.abs(Math.trunc(minor));
  const major = Math.trunc(abs / per);
  const cents = String(abs % per).padStart(2, '0');
  const grouped = new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en-US').format(major);
  return `${neg ? '−' : ''}¥${grouped}.${cents}`;
}

export function fmtHours(x) {
  if (x === null || x === undefined) return '';
  return new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en-US',
    { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(x);
}

export function fmtPct(x) {
  if (x === null || x === undefined) return '–';
  return new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en-US',
    { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(x);
}

export function fmtNum(x, digits = 1) {
  if (x === null || x === undefined) return '';
  return new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en-US',
    { maximumFractionDigits: digits }).format(x);
}

// The parts of a UTC instant as wall time in the platform zone.
export function wallParts(ms) {
  const p = {};
  for (const x of new Intl.DateTimeFormat('en-US', { timeZone: tz(), hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', weekday: 'short' }).formatToParts(new Date(ms))) p[x.type] = x.value;
  return p;
}

// The platform zone's offset from UTC at ms, in ms (for charts, which know only UTC and local).
export function offsetAt(ms) {
  const p = wallParts(ms);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// "YYYY-MM-DDTHH:MM" read as wall time in the platform zone -> epoch ms.
export function wallToMs(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(s || '');
  if (!m) return NaN;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let ms = guess - offsetAt(guess);
  ms = guess - offsetAt(ms);
  return ms;
}

// epoch ms -> "YYYY-MM-DDTHH:MM" wall time in the platform zone (for datetime-local inputs).
export function msToWall(ms) {
  const p = wallParts(ms);
  return `${p.year}-${p.month}-${p.day}T${String(+p.hour % 24).padStart(2, '0')}:${p.minute}`;
}

export function isoDay(ms) {
  const p = wallParts(ms);
  return `${p.year}-${p.month}-${p.day}`;
}

export function thisMonth() {
  return isoDay(Date.now()).slice(0, 7);
}

export function thisYear() {
  return +isoDay(Date.now()).slice(0, 4);
}

// The twelve months up to and including the current one: ["2025-12", ..., "2026-11"].
export function lastMonths(n = 12) {
  const [y, m] = thisMonth().split('-').map(Number);
  const out = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

/* --- pieces ------------------------------------------------------------------------------- */

export function badge(kind, value, label) {
  return h('span', { class: `badge ${kind}-${value}` }, label || t(`${kind}_${value}`));
}

// A table: columns [{key, label, num, fmt(row) -> node|string}], rows, and an optional CSV
// link (the same API list with format=csv).
export function table(caption, columns, rows, { csv, empty } = {}) {
  const cap = h('caption', null, caption,
    csv ? h('a', { class: 'csv', href: '/api/v1' + csv + (csv.includes('?') ? '&' : '?') + 'format=csv',
      download: '' }, t('download_csv')) : null);
  const head = h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.length
    ? rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.num ? 'num' : null },
      c.fmt ? c.fmt(r) : (r[c.key] ?? '')))))
    : [h('tr', null, h('td', { colspan: columns.length, class: 'muted' }, empty || t('nothing_yet')))];
  return h('div', { class: 'table-wrap' }, h('table', null, cap, h('thead', null, head), h('tbody', null, body)));
}

export function link(href, text) {
  return h('a', { href }, text);
}

export function field(label, input) {
  return h('label', null, label, input);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, l]) => h('option', { value: v, selected: String(v) === String(value) }, l)));
}

export function kpi(label, value) {
  return h('div', { class: 'kpi' }, h('div', { class: 'v' }, value), h('div', { class: 'k' }, label));
}

// A modal dialog; resolves with the form's values on submit, or null on cancel.
export function ask(title, body, { submit = t('confirm'), danger = false } = {}) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog' }, h('h2', null, title), body,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : null }, submit),
        h('button', { type: 'button', class: 'secondary', onclick: () => dlg.close('cancel') }, t('cancel'))));
    const dlg = h('dialog', { 'aria-label': title }, form);
    document.body.append(dlg);
    dlg.addEventListener('close', () => {
      const ok = dlg.returnValue === 'ok';
      const values = Object.fromEntries(new FormData(form).entries());
      dlg.remove();
      resolve(ok ? values : null);
    });
    dlg.showModal();
  });
}

// ms as the platform's wall time read as UTC: what a chart's time axis (useUTC) shows.
export function wallTime(ms) {
  return ms + offsetAt(ms);
}

/* --- packages, loaded when a page needs them ---------------------------------------------- */

const loaded = new Map();

function loadScript(src) {
  if (!loaded.has(src)) {
    loaded.set(src, new Promise((resolve, reject) => {
      const s = h('script', { src });
      s.addEventListener('load', resolve);
      s.addEventListener('error', () => reject(new Error('cannot load ' + src)));
      document.head.append(s);
    }));
  }
  return loaded.get(src);
}

function loadCss(href) {
  if (!document.querySelector(`link[href="${href}"]`)) document.head.append(h('link', { rel: 'stylesheet', href }));
}

export async function fullCalendar() {
  loadCss(`${FULLCALENDAR}/skeleton.css`);
  loadCss(`${FULLCALENDAR}/themes/classic/theme.css`);
  loadCss(`${FULLCALENDAR}/themes/classic/palette.css`);
  await loadScript(`${FULLCALENDAR}/global.js`);
  await loadScript(`${FULLCALENDAR}/themes/classic/global.js`);
  await loadScript(`${FULLCALENDAR}/locales/zh-cn/global.js`);
  return window.FullCalendar;
}

export async function echarts() {
  await loadScript(`${ECHARTS}/echarts.min.js`);
  return window.echarts;
}

// A chart in el. Tooltips render inside the canvas (richText): ECharts' HTML tooltips carry
// inline styles, which the CSP refuses.
export async function chart(el, option) {
  const ec = await echarts();
  const c = ec.init(el, null, { locale: lang() === 'zh' ? 'ZH' : 'EN', renderer: 'canvas' });
  // time axes are given platform wall time as if it were UTC (see wallTime)
  c.setOption({ useUTC: true, tooltip: { renderMode: 'richText', trigger: 'axis' }, ...option });
  el.setAttribute('data-ready', '1');
  new ResizeObserver(() => c.resize()).observe(el);
  return c;
}
