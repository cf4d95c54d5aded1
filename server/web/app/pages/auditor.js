// auditor.js - what an auditor reviews: metrics by organisation, type or instrument for a month,
// quarter or year; the evaluation with its indicators and grades; the collaboration matrix as a
// heat map; idle instruments; and the evidence under every figure: sessions, then the meter's
// readings drawn as a time line. Every table downloads as CSV; the audit chain's check is shown.
import { api, apiAll, state, h, clear, msg, table, fmtTime, fmtMoney, fmtHours, fmtPct, fmtNum,
  badge, field, select, link, qs, kpi, chart, thisYear, lastMonths, wallTime, instrumentNames,
  instName } from '../core.js';
import { t } from '../i18n.js';
import { gradeLabel } from './manager.js';

const ORG_TYPES = ['government', 'enterprise', 'university', 'institute'];

// A period chosen as month (YYYY-MM), quarter (YYYY-Qn) or year (YYYY) -> {from, to} dates.
function period(p) {
  let m;
  if ((m = /^(\d{4})-(\d{2})$/.exec(p))) {
    const y = +m[1], mo = +m[2];
    const next = mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
    return { from: `${p}-01`, to: `${next}-01` };
  }
  if ((m = /^(\d{4})-Q([1-4])$/.exec(p))) {
    const y = +m[1], q = +m[2];
    const start = `${y}-${String((q - 1) * 3 + 1).padStart(2, '0')}-01`;
    const end = q === 4 ? `${y + 1}-01-01` : `${y}-${String(q * 3 + 1).padStart(2, '0')}-01`;
    return { from: start, to: end };
  }
  const y = +(p || thisYear());
  return { from: `${y}-01-01`, to: `${y + 1}-01-01` };
}

function periodOptions() {
  const y = thisYear();
  const opts = [[String(y), t('year_n', { y })], [String(y - 1), t('year_n', { y: y - 1 })]];
  for (const yy of [y, y - 1]) for (let q = 4; q >= 1; q--) opts.push([`${yy}-Q${q}`, t('quarter_n', { y: yy, q })]);
  for (const m of lastMonths(12).reverse()) opts.push([m, m]);
  return opts;
}

function metricColumns(by, names = {}) {
  const cols = [];
  if (by === 'instrument') {
    cols.push({ label: t('instrument'), fmt: (r) => instName(names, r.instrument) },
      { label: t('owner'), key: 'org' });
  } else if (by === 'org') {
    cols.push({ label: t('organisation'), fmt: (r) => link('#/metrics' + qs({ by: 'instrument', org: r.org_id, p: cur.p }), r.org) },
      { label: t('owner_type'), fmt: (r) => t('orgtype_' + r.org_type) });
  } else {
    cols.push({ label: t('owner_type'), fmt: (r) => link('#/metrics' + qs({ by: 'org', p: cur.p }), t('orgtype_' + r.org_type)) });
  }
  if (by !== 'instrument') cols.push({ label: t('instruments'), key: 'instruments', num: true });
  cols.push(
    { label: t('effective_hours'), num: true, fmt: (r) => evidenceLink(r, fmtHours(r.effective_hours)) },
    { label: t('external_hours'), num: true, fmt: (r) => fmtHours(r.external_hours) },
    { label: t('rated_hours'), num: true, fmt: (r) => fmtHours(r.rated_hours) },
    { label: t('utilization'), num: true, fmt: (r) => fmtPct(r.utilization) },
    { label: t('sharing_rate'), num: true, fmt: (r) => fmtPct(r.sharing_rate) },
    { label: t('no_shows'), key: 'no_show_count', num: true },
    { label: t('unbooked_hours'), num: true, fmt: (r) => fmtHours(r.unbooked_hours) },
    { label: t('revenue'), num: true, fmt: (r) => fmtMoney(r.revenue) });
  if (by !== 'instrument') cols.push({ label: t('idle_instruments'), key: 'idle_instruments', num: true });
  return cols;
}

const cur = { p: '' };

function evidenceLink(r, text) {
  if (!r.instrument) return text;
  const { from, to } = period(cur.p);
  return link('#/evidence' + qs({ instrument: r.instrument, from, to }), text);
}

export async function metrics(view, params) {
  cur.p = params.get('p') || String(thisYear());
  const by = params.get('by') || 'org';
  const org = params.get('org') || '';
  const { from, to } = period(cur.p);
  const path = '/metrics' + qs({ from, to, by, org });
  const [data, names] = await Promise.all([api(path), instrumentNames()]);
  const form = h('form', { class: 'row' },
    field(t('period'), select('p', periodOptions(), cur.p)),
    field(t('group_by'), select('by', [['org', t('by_org')], ['org_type', t('by_org_type')], ['instrument', t('by_instrument')]], by)));
  form.addEventListener('change', () => {
    const v = new FormData(form);
    location.hash = '#/metrics' + qs({ p: v.get('p'), by: v.get('by') });
  });
  const rows = data.items.slice().sort((a, b) => b.effective_hours - a.effective_hours);
  clear(view, h('h1', null, t('metrics_title')), h('p', { class: 'lead' }, t('metrics_lead', { from, to })), form,
    org ? msg('info', t('filtered_org', { org })) : null,
    table(t('metrics_title'), metricColumns(by, names), rows, { csv: path }));
}

export async function evaluation(view, params) {
  const year = +(params.get('year') || thisYear());
  const by = params.get('by') || 'instrument';
  const path = '/evaluation' + qs({ year, by });
  const [data, names] = await Promise.all([api(path), instrumentNames()]);
  const form = h('form', { class: 'row' },
    field(t('year'), select('year', [thisYear(), thisYear() - 1].map((y) => [y, String(y)]), year)),
    field(t('group_by'), select('by', [['instrument', t('by_instrument')], ['org', t('by_org')]], by)));
  form.addEventListener('change', () => {
    const v = new FormData(form);
    location.hash = '#/evaluation' + qs({ year: v.get('year'), by: v.get('by') });
  });
  const counts = {};
  for (const r of data.items) counts[r.grade] = (counts[r.grade] || 0) + 1;
  cur.p = String(year);
  clear(view, h('h1', null, t('evaluation_title', { year })), h('p', { class: 'lead' }, t('evaluation_lead')), form,
    h('div', { class: 'kpis' }, ['excellent', 'good', 'pass', 'poor'].map((g) => kpi(gradeLabel(g), counts[g] || 0))),
    table(t('evaluation_title', { year }), [
      { label: by === 'instrument' ? t('instrument') : t('organisation'), fmt: (r) => by === 'instrument' ? evidenceLink(r, instName(names, r.instrument)) : r.org },
      by === 'instrument' ? { label: t('owner'), key: 'org' } : { label: t('owner_type'), fmt: (r) => t('orgtype_' + r.org_type) },
      { label: t('utilization'), num: true, fmt: (r) => fmtPct(r.utilization) },
      { label: t('sharing_rate'), num: true, fmt: (r) => fmtPct(r.sharing_rate) },
      { label: t('op_score'), num: true, fmt: (r) => r.operation.toFixed(1) },
      { label: t('sharing_score'), num: true, fmt: (r) => r.sharing.toFixed(1) },
      { label: t('service_score'), num: true, fmt: (r) => r.service.toFixed(1) },
      { label: t('total_score'), num: true, fmt: (r) => r.total.toFixed(1) },
      { label: t('grade'), fmt: (r) => badge('grade', r.grade, gradeLabel(r.grade)) },
      { label: t('reward'), num: true, fmt: (r) => fmtMoney(r.reward) },
    ], data.items, { csv: path }));
}

export async function collaboration(view, params) {
  cur.p = params.get('p') || String(thisYear());
  const { from, to } = period(cur.p);
  const path = '/collaboration' + qs({ from, to });
  const data = await api(path);
  const form = h('form', { class: 'row' }, field(t('period'), select('p', periodOptions(), cur.p)));
  form.addEventListener('change', () => { location.hash = '#/collaboration' + qs({ p: new FormData(form).get('p') }); });
  const users = [...ORG_TYPES, ...new Set(data.items.map((r) => r.user_org_type).filter((x) => !ORG_TYPES.includes(x)))];
  const owners = ORG_TYPES;
  const cells = [];
  let max = 0;
  users.forEach((u, y) => owners.forEach((o, x) => {
    const r = data.items.find((i) => i.user_org_type === u && i.owner_org_type === o);
    const v = r ? +r.hours.toFixed(1) : 0;
    max = Math.max(max, v);
    cells.push([x, y, v]);
  }));
  const el = h('div', { class: 'chart tall', id: 'chart-collab', role: 'img', 'aria-label': t('collab_title') });
  clear(view, h('h1', null, t('collab_title')), h('p', { class: 'lead' }, t('collab_lead')), form,
    h('figure', { class: 'charts-one' }, el),
    table(t('collab_title'), [
      { label: t('user_org_type'), fmt: (r) => t('orgtype_' + r.user_org_type) },
      { label: t('owner_org_type'), fmt: (r) => t('orgtype_' + r.owner_org_type) },
      { label: t('hours'), num: true, fmt: (r) => fmtHours(r.hours) },
    ], data.items, { csv: path }));
  requestAnimationFrame(() => chart(el, {
    tooltip: { renderMode: 'richText', position: 'top' },
    grid: { left: 110, right: 20, top: 30, bottom: 110 },
    xAxis: { type: 'category', name: t('owner_org_type'), nameLocation: 'middle', nameGap: 30, data: owners.map((o) => t('orgtype_' + o)) },
    yAxis: { type: 'category', name: t('user_org_type'), data: users.map((u) => t('orgtype_' + u)) },
    visualMap: { min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ name: t('hours'), type: 'heatmap', data: cells, label: { show: true } }],
  }));
}

export async function idle(view, params) {
  cur.p = params.get('p') || String(thisYear());
  const { from, to } = period(cur.p);
  const path = '/metrics' + qs({ from, to, by: 'instrument' });
  const [data, names] = await Promise.all([api(path), instrumentNames()]);
  const form = h('form', { class: 'row' }, field(t('period'), select('p', periodOptions(), cur.p)));
  form.addEventListener('change', () => { location.hash = '#/idle' + qs({ p: new FormData(form).get('p') }); });
  const rows = data.items.filter((r) => r.idle).sort((a, b) => a.utilization - b.utilization);
  clear(view, h('h1', null, t('idle_title')), h('p', { class: 'lead' }, t('idle_lead')), form,
    table(t('n_idle', { n: rows.length }), metricColumns('instrument', names), rows, { csv: path }));
}

export async function evidence(view, params) {
  const inst = params.get('instrument');
  const from = params.get('from'), to = params.get('to');
  const path = '/usage' + qs({ instrument: inst, from, to });
  const [items, names] = await Promise.all([apiAll(path, 20000), instrumentNames()]);
  const data = { items, total: items.length };
  const run = items.reduce((s, u) => s + u.run_seconds, 0);
  clear(view, h('h1', null, t('evidence_title', { inst: instName(names, inst) })),
    h('p', { class: 'lead' }, t('evidence_lead', { from, to })),
    h('div', { class: 'kpis' }, kpi(t('sessions'), data.total), kpi(t('run_hours_listed'), fmtHours(run / 3600))),
    table(t('sessions'), [
      { label: t('start'), fmt: (u) => fmtTime(u.start) },
      { label: t('end'), fmt: (u) => fmtTime(u.end) },
      { label: t('run_time'), num: true, fmt: (u) => fmtHours(u.run_seconds / 3600) + ' h' },
      { label: t('samples'), key: 'samples', num: true },
      { label: t('user'), key: 'user_id' },
      { label: t('attribution'), fmt: (u) => t('attr_' + u.attribution) + (u.booking_id ? ` #${u.booking_id}` : '') },
      { label: t('readings'), fmt: (u) => link('#/readings' + qs({ instrument: u.instrument, from: u.start, to: new Date(Date.parse(u.end) + 1).toISOString() }), t('show_readings')) },
    ], data.items, { csv: path }));
}

const STATES = ['off', 'idle', 'running', 'fault'];

export async function readings(view, params) {
  const inst = params.get('instrument');
  const from = params.get('from'), to = params.get('to');
  // a little before and after, so the time line shows how the session began and ended
  const pad = 15 * 60000;
  const wide = qs({ instrument: inst, from: new Date(Date.parse(from) - pad).toISOString(), to: new Date(Date.parse(to) + pad).toISOString() });
  const path = '/readings' + qs({ instrument: inst, from, to });
  const items = await apiAll('/readings' + wide, 5000);
  const el = h('div', { class: 'chart tall', id: 'chart-readings', role: 'img', 'aria-label': t('readings_chart') });
  clear(view, h('h1', null, t('readings_title', { inst })), h('p', { class: 'lead' }, t('readings_lead', { from: fmtTime(from), to: fmtTime(to) })),
    h('figure', { class: 'charts-one' }, el),
    table(t('readings'), [
      { label: t('time'), fmt: (r) => fmtTime(r.ts) },
      { label: t('state'), fmt: (r) => badge('state', r.state) },
      { label: t('cause'), key: 'cause' },
      { label: t('run_seconds'), key: 'run_seconds', num: true },
      { label: t('samples'), key: 'samples', num: true },
      { label: t('power_w'), num: true, fmt: (r) => fmtNum(r.power_w) },
      { label: t('badge'), key: 'badge', num: true },
      { label: t('relay'), fmt: (r) => (r.interlock === null || r.interlock === undefined ? '' : t(r.interlock ? 'relay_enable' : 'relay_disable')) },
      { label: t('gateway_seq'), fmt: (r) => `${r.gateway} ${r.epoch}/${r.seq}` },
      { label: t('received_at'), fmt: (r) => fmtTime(r.received_at) },
    ], items.filter((r) => r.ts >= from && r.ts < to), { csv: path }));
  requestAnimationFrame(() => chart(el, {
    legend: { top: 0 },
    grid: { left: 70, right: 130, top: 40, bottom: 40 },
    xAxis: { type: 'time' },
    yAxis: [
      { type: 'category', data: STATES.map((s) => t('state_' + s)), name: t('state') },
      // counters from where they stand (scale), named by the legend
      { type: 'value', position: 'right', scale: true },
      { type: 'value', position: 'right', offset: 64, scale: true, splitLine: { show: false } }],
    series: [
      { name: t('state'), type: 'line', step: 'start', data: items.map((r) => [wallTime(Date.parse(r.ts)), t('state_' + r.state)]) },
      { name: t('run_seconds'), type: 'line', yAxisIndex: 1, showSymbol: false, data: items.map((r) => [wallTime(Date.parse(r.ts)), r.run_seconds]) },
      { name: t('samples'), type: 'line', yAxisIndex: 2, showSymbol: false, data: items.map((r) => [wallTime(Date.parse(r.ts)), r.samples]) }],
  }));
}

export async function audit(view, params) {
  const [verify, head] = await Promise.all([api('/audit-log/verify'), api('/audit-log?limit=1')]);
  const log = await api('/audit-log' + qs({ limit: 100, offset: Math.max(0, head.total - 100) }));
  clear(view, h('h1', null, t('audit_title')),
    verify.ok ? msg('success', t('audit_ok', { n: verify.checked })) : msg('error', t('audit_broken', { at: verify.broken_at ?? '?' })),
    table(t('audit_recent', { n: log.total }), [
      { label: '#', key: 'seq', num: true },
      { label: t('time'), fmt: (r) => fmtTime(r.at) },
      { label: t('actor'), fmt: (r) => r.actor },
      { label: t('action'), key: 'action' },
      { label: t('object'), key: 'object' },
    ], log.items.slice().reverse(), { csv: '/audit-log' }));
}
