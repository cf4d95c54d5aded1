// manager.js - a lab manager's work: requests to decide, the organisation's instruments (rules,
// rates, service hours, outages), the dashboard month by month with the grade it heads for, and
// the monthly statements.
import { api, apiAll, state, h, clear, msg, errorText, toast, table, fmtTime, fmtMoney, fmtHours,
  fmtPct, badge, field, select, ask, link, qs, kpi, chart, lastMonths, thisMonth, thisYear,
  wallToMs, msToWall, instrumentNames } from '../core.js';
import { t } from '../i18n.js';
import { route } from '../main.js';
import { serviceHoursText } from './public.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const RULES = ['min_minutes', 'max_minutes', 'slot_minutes', 'min_notice_minutes', 'horizon_days',
  'max_future_bookings', 'cancel_notice_minutes', 'cancel_grace_minutes'];

export async function approvals(view) {
  const [items, names] = await Promise.all([apiAll('/bookings?status=pending'), instrumentNames()]);
  items.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const decide = (b, approve) => async () => {
    let body = {};
    if (!approve) {
      const v = await ask(t('reject_q', { id: b.id }), field(t('reason'),
        h('textarea', { name: 'reason', rows: 3, maxlength: 500, required: true })), { submit: t('reject'), danger: true });
      if (!v) return;
      body = { reason: v.reason };
    }
    try {
      await api(`/bookings/${b.id}/${approve ? 'approve' : 'reject'}`, { method: 'POST', body });
      toast('success', approve ? t('approved_n', { id: b.id }) : t('rejected_n', { id: b.id }));
      route();
    } catch (e) { toast('error', errorText(e)); }
  };
  clear(view, h('h1', null, t('nav/approvals')), h('p', { class: 'lead' }, t('approvals_lead')),
    table(t('n_pending', { n: items.length }), [
      { label: '#', key: 'id', num: true },
      { label: t('who_asks'), fmt: (b) => [h('strong', null, b.requester.display_name || b.requester.username),
        h('div', { class: 'muted' }, `${b.requester.org || ''} (${t('orgtype_' + b.requester.org_type)})`)] },
      { label: t('category'), fmt: (b) => t('cat_' + b.category) },
      { label: t('instrument'), fmt: (b) => names[b.instrument] || b.instrument },
      { label: t('project'), key: 'project' },
      { label: t('start'), fmt: (b) => fmtTime(b.start) },
      { label: t('end'), fmt: (b) => fmtTime(b.end) },
      { label: t('expected_charge'), num: true, fmt: (b) => fmtMoney(b.expected_charge) },
      { label: t('actions'), fmt: (b) => h('div', { class: 'actions' },
        h('button', { type: 'button', 'data-approve': b.id, onclick: decide(b, true) }, t('approve')),
        h('button', { type: 'button', class: 'danger', 'data-reject': b.id, onclick: decide(b, false) }, t('reject'))) },
    ], items, { empty: t('no_pending') }));
}

function myOrg() {
  return state.me.role === 'admin' ? undefined : state.me.org_id;
}

export async function instruments(view) {
  const items = await apiAll('/instruments' + qs({ org: myOrg() }));
  clear(view, h('h1', null, t('nav/instruments')), h('p', { class: 'lead' }, t('instruments_lead')),
    h('p', null, h('a', { class: 'button', href: '#/instrument-edit?new=1' }, t('new_instrument'))),
    table(t('instruments'), [
      { label: t('name'), fmt: (i) => link('#/instrument-edit?id=' + encodeURIComponent(i.id), i.name) },
      { label: 'ID', key: 'id' },
      { label: t('category'), key: 'category' },
      { label: t('location'), key: 'location' },
      { label: t('public'), fmt: (i) => i.public ? t('yes') : t('no') },
      { label: t('rates_hint'), fmt: (i) => ['internal', 'academic', 'industry'].map((c) =>
        `${t('cat_' + c)} ${fmtMoney(((i.billing || {}).rates || {})[c])}`).join(' · ') },
      { label: t('service_hours'), fmt: (i) => serviceHoursText(i.service_hours) },
      { label: t('gateway'), key: 'gateway' },
    ], items));
}

function shText(spans) {
  return (spans || []).map((s) => s.join('-')).join(', ');
}

function parseSpans(text) {
  const out = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$/.exec(part);
    if (!m) throw new Error(t('bad_hours', { text: part }));
    out.push([m[1].padStart(5, '0'), m[2].padStart(5, '0')]);
  }
  return out;
}

export async function instrumentEdit(view, params) {
  const isNew = params.get('new') === '1';
  const id = params.get('id');
  const inst = isNew ? { booking: {}, billing: { rates: {} }, service_hours: {}, public: true } : await api('/instruments/' + encodeURIComponent(id));
  const b = inst.booking || {}, bill = inst.billing || {}, rates = bill.rates || {};
  const out = h('div', { 'aria-live': 'assertive' });
  const num = (name, value, attrs = {}) => h('input', { type: 'number', name, value: value ?? '', ...attrs });
  const money = (name, minor) => num(name, minor != null ? (minor / 100).toFixed(2) : '', { step: '0.01', min: 0 });
  const form = h('form', { id: 'instrument-form' },
    h('fieldset', null, h('legend', null, t('about')), h('div', { class: 'grid-fields' }, h('div', { class: 'row' },
      isNew ? field('ID', h('input', { name: 'id', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,62}' })) : null,
      field(t('name'), h('input', { name: 'name', value: inst.name || '', required: true })),
      field(t('category'), h('input', { name: 'category', value: inst.category || '' })),
      field(t('location'), h('input', { name: 'location', value: inst.location || '' })),
      field(t('value_yuan'), num('value_yuan', inst.value_yuan, { min: 0 })),
      field(t('rated_hours'), num('rated_hours', inst.rated_hours, { min: 1 })),
      field(t('public'), select('public', [['true', t('yes')], ['false', t('no')]], String(inst.public !== false)))),
      field(t('description'), h('textarea', { name: 'description', rows: 3, maxlength: 2000, class: 'wide' }, inst.description || '')))),
    h('fieldset', null, h('legend', null, t('rules')), h('div', { class: 'row' },
      RULES.map((k) => field(t('rulekey_' + k), num('booking.' + k, b[k], { min: 0 }))),
      field(t('rulekey_approval_external'), select('booking.approval_external', [['true', t('yes')], ['false', t('no')]], String(!!b.approval_external))),
      field(t('rulekey_requires_qualification'), select('booking.requires_qualification', [['true', t('yes')], ['false', t('no')]], String(!!b.requires_qualification))))),
    h('fieldset', null, h('legend', null, t('interlock')), h('p', { class: 'muted' }, t('interlock_hint')), h('div', { class: 'row' },
      field(t('interlock_mode'), select('il.mode', ['none', 'monitor', 'enforce'].map((m) => [m, t('ilmode_' + m)]), (inst.interlock || {}).mode || 'none')),
      field(t('interlock_lead'), num('il.lead_min', (inst.interlock || {}).lead_min ?? 10, { min: 0, max: 1440 })),
      field(t('interlock_grace'), num('il.overrun_grace_min', (inst.interlock || {}).overrun_grace_min ?? 30, { min: 0, max: 1440 })),
      field(t('interlock_walkup'), select('il.walkup', [['false', t('no')], ['true', t('yes')]], String(!!(inst.interlock || {}).walkup))))),
    h('fieldset', null, h('legend', null, t('prices')), h('div', { class: 'row' },
      field(t('billing_basis'), select('billing.basis', [['metered', t('basis_metered')], ['booked', t('basis_booked')]], bill.basis || 'metered')),
      ['internal', 'academic', 'industry'].map((c) => field(t('rate_of', { cat: t('cat_' + c) }), money('rate.' + c, rates[c]))),
      field(t('per_sample'), money('billing.per_sample', bill.per_sample)),
      field(t('increment_min'), num('billing.increment_min', bill.increment_min, { min: 1 })),
      field(t('minimum_min'), num('billing.minimum_min', bill.minimum_min, { min: 0 })),
      field(t('no_show_fraction'), num('billing.no_show_fraction', bill.no_show_fraction, { min: 0, max: 1, step: '0.05' })))),
    h('fieldset', null, h('legend', null, t('service_hours')), h('p', { class: 'muted' }, t('service_hours_hint')),
      h('div', { class: 'row' }, DAYS.map((d) => field(t('day_' + d), h('input', { name: 'sh.' + d, value: shText((inst.service_hours || {})[d]), placeholder: '08:00-18:00' }))))),
    out, h('div', { class: 'actions' }, h('button', { type: 'submit' }, isNew ? t('create') : t('save'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form).entries());
    try {
      const body = { name: v.name, category: v.category, location: v.location, description: v.description, public: v.public === 'true',
        booking: { approval_external: v['booking.approval_external'] === 'true',
          requires_qualification: v['booking.requires_qualification'] === 'true' },
        interlock: { mode: v['il.mode'], lead_min: +v['il.lead_min'], overrun_grace_min: +v['il.overrun_grace_min'],
          walkup: v['il.walkup'] === 'true' },
        billing: { basis: v['billing.basis'], rates: {} }, service_hours: {} };
      if (v.value_yuan !== '') body.value_yuan = +v.value_yuan;
      if (v.rated_hours !== '') body.rated_hours = +v.rated_hours;
      for (const k of RULES) if (v['booking.' + k] !== '') body.booking[k] = +v['booking.' + k];
      for (const c of ['internal', 'academic', 'industry']) if (v['rate.' + c] !== '') body.billing.rates[c] = Math.round(+v['rate.' + c] * 100);
      if (v['billing.per_sample'] !== '') body.billing.per_sample = Math.round(+v['billing.per_sample'] * 100);
      for (const k of ['increment_min', 'minimum_min', 'no_show_fraction']) if (v['billing.' + k] !== '') body.billing[k] = +v['billing.' + k];
      for (const d of DAYS) body.service_hours[d] = parseSpans(v['sh.' + d] || '');
      if (isNew) {
        body.id = v.id;
        if (state.me.role !== 'admin') body.org_id = state.me.org_id;
        await api('/instruments', { method: 'POST', body });
        toast('success', t('saved'));
        location.hash = '#/instrument-edit?id=' + encodeURIComponent(v.id);
      } else {
        await api('/instruments/' + encodeURIComponent(id), { method: 'PATCH', body });
        toast('success', t('saved'));
        route();
      }
    } catch (err) { clear(out, msg('error', errorText(err))); }
  });
  clear(view, h('h1', null, isNew ? t('new_instrument') : t('edit_x', { name: inst.name })), form);
  if (!isNew) {
    view.append(relaySection(inst));
    view.append(await qualificationsSection(inst));
    view.append(await outagesSection(inst));
  }
}

// What the server wants of the relay and what the gateway last read back.
function relaySection(inst) {
  const s = inst.interlock_state;
  const sec = h('section', { id: 'relay' }, h('h2', null, t('relay_state')));
  if (!s) {
    sec.append(h('p', { class: 'muted' }, t('relay_none')));
    return sec;
  }
  sec.append(h('div', { class: 'kpis' },
    kpi(t('relay_desired'), t('relay_' + s.desired)),
    kpi(t('relay_actual'), s.actual ? t('relay_' + s.actual) : t('relay_unknown')),
    kpi(t('relay_reason'), t('ilreason_' + s.reason) + (s.booking ? ` #${s.booking}` : '')),
    kpi(t('relay_agrees'), s.agrees === null ? '–' : s.agrees ? t('yes') : t('no'))),
  h('p', { class: 'muted' }, t('relay_when', { computed: fmtTime(s.computed_at), actual: s.actual_at ? fmtTime(s.actual_at) : '–' })));
  // the gateway's own words for why it cannot put the relay right (printable ASCII, as text)
  if (s.fault) {
    sec.append(h('p', { class: 'msg error', role: 'alert' },
      t('relay_fault', { since: fmtTime(s.fault_since) }), ' ', h('code', null, s.fault)));
  }
  return sec;
}

// Who may operate it themselves: recorded with the date and an optional expiry.
async function qualificationsSection(inst) {
  const path = `/instruments/${encodeURIComponent(inst.id)}/qualifications`;
  const [items, users] = await Promise.all([apiAll(path), apiAll('/users').catch(() => [])]);
  const name = Object.fromEntries(users.map((u) => [u.id, u.display_name || u.username]));
  const grant = async () => {
    const v = await ask(t('new_qualification'), [
      field(t('user'), select('user_id', users.filter((u) => u.role !== 'auditor').map((u) => [u.id, `${u.display_name || u.username} (${u.username})`]))),
      field(t('expires'), h('input', { type: 'date', name: 'expires' }))], { submit: t('save') });
    if (!v) return;
    try {
      const body = { user_id: +v.user_id };
      if (v.expires) body.expires = v.expires;
      await api(path, { method: 'POST', body });
      toast('success', t('saved'));
      route();
    } catch (e) { toast('error', errorText(e)); }
  };
  const revoke = (q) => async () => {
    if (!(await ask(t('revoke_q', { who: name[q.user_id] || q.user_id }), h('p', null, inst.name), { submit: t('revoke'), danger: true }))) return;
    try {
      await api(`${path}/${q.user_id}`, { method: 'DELETE' });
      toast('success', t('deleted'));
      route();
    } catch (e) { toast('error', errorText(e)); }
  };
  return h('section', { id: 'qualifications' }, h('h2', null, t('qualifications')),
    h('p', null, h('button', { type: 'button', class: 'secondary', id: 'new-qualification', onclick: grant }, t('new_qualification'))),
    table(t('qualifications'), [
      { label: t('user'), fmt: (q) => name[q.user_id] || String(q.user_id) },
      { label: t('since_date'), fmt: (q) => fmtTime(q.since) },
      { label: t('qualified_by'), fmt: (q) => name[q.by] || String(q.by) },
      { label: t('expires'), fmt: (q) => q.expires ? fmtTime(q.expires) : t('no_expiry') },
      { label: t('actions'), fmt: (q) => h('button', { type: 'button', class: 'danger', onclick: revoke(q) }, t('revoke')) },
    ], items, { csv: path }));
}

async function outagesSection(inst) {
  const sec = h('section', { id: 'outages' });
  const items = await apiAll(`/instruments/${encodeURIComponent(inst.id)}/outages`);
  const edit = (o) => async () => {
    const v = await ask(o ? t('edit_outage') : t('new_outage'), [
      field(t('start'), h('input', { type: 'datetime-local', name: 'start', required: true, value: o ? msToWall(Date.parse(o.start)) : '' })),
      field(t('end'), h('input', { type: 'datetime-local', name: 'end', required: true, value: o ? msToWall(Date.parse(o.end)) : '' })),
      field(t('kind'), select('kind', [['maintenance', t('outage_maintenance')], ['breakdown', t('outage_breakdown')]], o ? o.kind : 'maintenance')),
      field(t('note'), h('input', { name: 'note', value: o ? o.note || '' : '', maxlength: 200 }))], { submit: t('save') });
    if (!v) return;
    const body = { start: new Date(wallToMs(v.start)).toISOString(), end: new Date(wallToMs(v.end)).toISOString(), kind: v.kind, note: v.note };
    try {
      await api(`/instruments/${encodeURIComponent(inst.id)}/outages${o ? '/' + o.id : ''}`, { method: o ? 'PATCH' : 'POST', body });
      toast('success', t('saved'));
      route();
    } catch (e) { toast('error', errorText(e)); }
  };
  const del = (o) => async () => {
    if (!(await ask(t('delete_outage_q'), h('p', null, `${fmtTime(o.start)} – ${fmtTime(o.end)}`), { submit: t('delete'), danger: true }))) return;
    try {
      await api(`/instruments/${encodeURIComponent(inst.id)}/outages/${o.id}`, { method: 'DELETE' });
      toast('success', t('deleted'));
      route();
    } catch (e) { toast('error', errorText(e)); }
  };
  items.sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
  clear(sec, h('h2', null, t('outages')),
    h('p', null, h('button', { type: 'button', class: 'secondary', id: 'new-outage', onclick: edit(null) }, t('new_outage'))),
    table(t('outages'), [
      { label: t('start'), fmt: (o) => fmtTime(o.start) },
      { label: t('end'), fmt: (o) => fmtTime(o.end) },
      { label: t('kind'), fmt: (o) => t('outage_' + o.kind) },
      { label: t('note'), key: 'note' },
      { label: t('actions'), fmt: (o) => h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: edit(o) }, t('edit')),
        h('button', { type: 'button', class: 'danger', onclick: del(o) }, t('delete'))) },
    ], items));
  return sec;
}

// Sum the by=instrument rows of a month into one organisation figure.
function total(rows) {
  const s = { effective_hours: 0, external_hours: 0, rated_hours: 0, revenue: 0, no_show_count: 0,
    unbooked_hours: 0, booked_hours: 0, bookings_ended: 0 };
  for (const r of rows) for (const k of Object.keys(s)) s[k] += r[k] || 0;
  s.utilization = s.rated_hours ? s.effective_hours / s.rated_hours : 0;
  s.sharing_rate = s.effective_hours ? s.external_hours / s.effective_hours : 0;
  return s;
}

export async function dashboard(view, params) {
  const which = params.get('instrument') || '';
  const months = lastMonths(12);
  const org = myOrg();
  const [perMonth, evaluation, gateways, insts] = await Promise.all([
    Promise.all(months.map((m) => api('/metrics' + qs({ month: m, by: 'instrument', org })).then((r) => r.items))),
    api('/evaluation' + qs({ year: thisYear(), by: 'instrument', org })).catch(() => ({ items: [] })),
    api('/gateways').catch(() => ({ items: [] })),
    apiAll('/instruments' + qs({ org })),
  ]);
  const series = perMonth.map((rows) => total(which ? rows.filter((r) => r.instrument === which) : rows));
  const year = total(perMonth.flat().filter((r) => !which || r.instrument === which));
  const evalRows = evaluation.items.filter((r) => !which || r.instrument === which);
  const pick = h('form', { class: 'row' }, field(t('instrument'), select('instrument',
    [['', t('whole_org')], ...insts.map((i) => [i.id, i.name])], which)));
  pick.addEventListener('change', () => { location.hash = '#/dashboard' + qs({ instrument: new FormData(pick).get('instrument') }); });
  const figs = [
    ['chart-util', t('chart_util')], ['chart-hours', t('chart_hours')],
    ['chart-revenue', t('chart_revenue')], ['chart-noshow', t('chart_noshow')],
  ].map(([id, cap]) => h('figure', null, h('figcaption', null, cap), h('div', { class: 'chart', id, role: 'img', 'aria-label': cap })));
  const grade = evalRows.length === 1 ? evalRows[0] : null;
  clear(view, h('h1', null, t('dashboard_title')), h('p', { class: 'lead' }, t('dashboard_lead')), pick,
    h('div', { class: 'kpis' },
      kpi(t('utilization'), fmtPct(year.rated_hours ? year.effective_hours / year.rated_hours : 0)),
      kpi(t('sharing_rate'), fmtPct(year.sharing_rate)),
      kpi(t('effective_hours'), fmtHours(year.effective_hours)),
      kpi(t('external_hours'), fmtHours(year.external_hours)),
      kpi(t('revenue'), fmtMoney(year.revenue)),
      kpi(t('no_shows'), year.no_show_count),
      kpi(t('unbooked_hours'), fmtHours(year.unbooked_hours)),
      grade ? kpi(t('grade_heading'), gradeLabel(grade.grade)) : null),
    h('div', { class: 'charts' }, figs),
    table(t('grade_heading_table', { year: thisYear() }), [
      { label: t('instrument'), key: 'instrument' },
      { label: t('op_score'), num: true, fmt: (r) => r.operation.toFixed(1) },
      { label: t('sharing_score'), num: true, fmt: (r) => r.sharing.toFixed(1) },
      { label: t('service_score'), num: true, fmt: (r) => r.service.toFixed(1) },
      { label: t('total_score'), num: true, fmt: (r) => r.total.toFixed(1) },
      { label: t('grade'), fmt: (r) => badge('grade', r.grade, gradeLabel(r.grade)) },
    ], evalRows),
    table(t('nav/gateways'), [
      { label: 'ID', key: 'id' }, { label: t('name'), key: 'name' },
      { label: t('online'), fmt: (g) => g.online ? badge('state', 'running', t('online')) : badge('state', 'offline', t('offline')) },
      { label: t('last_seen'), fmt: (g) => fmtTime(g.last_seen) },
      { label: t('backlog'), num: true, fmt: (g) => g.outbox ?? '–' },
    ], gateways.items));
  const labels = months;
  const opts = (extra) => ({ grid: { left: 56, right: 16, top: 36, bottom: 28 }, legend: { top: 0 },
    xAxis: { type: 'category', data: labels }, ...extra });
  requestAnimationFrame(async () => {
    await chart(view.querySelector('#chart-util'), opts({
      yAxis: { type: 'value', axisLabel: { formatter: (v) => Math.round(v * 100) + '%' } },
      series: [
        { name: t('utilization'), type: 'line', data: series.map((s) => +s.utilization.toFixed(4)) },
        { name: t('sharing_rate'), type: 'line', data: series.map((s) => +s.sharing_rate.toFixed(4)) }] }));
    await chart(view.querySelector('#chart-hours'), opts({ yAxis: { type: 'value', name: 'h' },
      series: [
        { name: t('effective_hours'), type: 'bar', data: series.map((s) => +s.effective_hours.toFixed(1)) },
        { name: t('external_hours'), type: 'bar', data: series.map((s) => +s.external_hours.toFixed(1)) }] }));
    await chart(view.querySelector('#chart-revenue'), opts({ yAxis: { type: 'value', name: '¥' },
      series: [{ name: t('revenue'), type: 'bar', data: series.map((s) => s.revenue / 100) }] }));
    await chart(view.querySelector('#chart-noshow'), opts({ yAxis: [{ type: 'value' }, { type: 'value', name: 'h' }],
      series: [
        { name: t('no_shows'), type: 'bar', data: series.map((s) => s.no_show_count) },
        { name: t('unbooked_hours'), type: 'line', yAxisIndex: 1, data: series.map((s) => +s.unbooked_hours.toFixed(1)) }] }));
  });
}

export function gradeLabel(g) {
  return t('grade_' + g);
}

export async function statements(view, params) {
  const month = params.get('month') || thisMonth();
  const kind = params.get('kind') || 'revenue';
  const org = state.me.org_id || +(params.get('org') || 0);
  const form = h('form', { class: 'row' },
    field(t('month'), select('month', lastMonths(12).reverse().map((m) => [m, m]), month)),
    field(t('statement_kind'), select('kind', [['revenue', t('st_revenue')], ['payer', t('st_payer')]], kind)));
  form.addEventListener('change', () => {
    const v = new FormData(form);
    location.hash = '#/statements' + qs({ month: v.get('month'), kind: v.get('kind') });
  });
  if (!org) {
    clear(view, h('h1', null, t('nav/statements')), form, msg('info', t('pick_org')));
    return;
  }
  const path = '/statements' + qs(kind === 'revenue' ? { month, owner_org: org } : { month, org });
  const s = await api(path);
  clear(view, h('h1', null, t('nav/statements')), h('p', { class: 'lead' }, t('statements_lead')), form,
    h('div', { class: 'kpis' }, kpi(t('gross'), fmtMoney(s.gross)), kpi(t('voucher'), fmtMoney(s.voucher)),
      kpi(t('payable'), fmtMoney(s.payable)), kpi(t('month_closed'), s.closed ? t('yes') : t('no'))),
    (s.lines_total || 0) > (s.lines || []).length
      ? msg('info', t('statement_paged', { total: s.lines_total, shown: (s.lines || []).length })) : null,
    table(t('lines'), [
      { label: t('date'), fmt: (c) => fmtTime(c.at) },
      { label: t('instrument'), key: 'instrument' },
      { label: t('kind'), fmt: (c) => t('chargekind_' + c.kind) },
      { label: t('category'), fmt: (c) => t('cat_' + c.category) },
      { label: t('minutes'), key: 'minutes', num: true },
      { label: t('amount'), num: true, fmt: (c) => fmtMoney(c.amount) },
      { label: t('voucher'), num: true, fmt: (c) => fmtMoney(c.voucher) },
      { label: t('payable'), num: true, fmt: (c) => fmtMoney(c.payable) },
      { label: t('description'), key: 'description' },
    ], s.lines || [], { csv: path }));
}
