// public.js - what everyone sees without logging in: the open catalog, an instrument's page
// with its live state, the platform's published sharing figures; and the login form.
import { api, state, h, clear, msg, errorText, table, fmtTime, fmtDate, fmtMoney, fmtHours, fmtPct, fmtNum,
  badge, field, select, kpi, link, thisYear, qs, forgetNames } from '../core.js';
import { t, lang } from '../i18n.js';
import { home } from '../main.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function liveState(item) {
  return h('span', { class: 'live' }, badge('state', item.state || 'unknown'),
    item.last_reading ? h('span', { class: 'muted' }, ' ' + t('last_reading_at', { time: fmtTime(item.last_reading) })) : '');
}

export function serviceHoursText(sh) {
  if (!sh) return t('always_open');
  const parts = DAYS.filter((d) => sh[d] && sh[d].length)
    .map((d) => `${t('day_' + d)} ${sh[d].map((s) => s.join('–')).join(', ')}`);
  return parts.length ? parts.join('; ') : t('closed');
}

export function rulesList(b) {
  if (!b) return [];
  const rows = [];
  if (b.min_minutes) rows.push(t('rule_min', { n: b.min_minutes }));
  if (b.max_minutes) rows.push(t('rule_max', { n: b.max_minutes }));
  if (b.slot_minutes) rows.push(t('rule_slot', { n: b.slot_minutes }));
  if (b.min_notice_minutes) rows.push(t('rule_notice', { n: b.min_notice_minutes }));
  if (b.horizon_days) rows.push(t('rule_horizon', { n: b.horizon_days }));
  if (b.max_future_bookings) rows.push(t('rule_future', { n: b.max_future_bookings }));
  if (b.cancel_notice_minutes) rows.push(t('rule_cancel', { n: Math.round(b.cancel_notice_minutes / 60) }));
  rows.push(b.approval_external ? t('rule_approval_external') : t('rule_no_approval'));
  return rows;
}

function distinct(items, key) {
  return [...new Set(items.map((i) => i[key]).filter(Boolean))].sort();
}

export async function catalog(view, params) {
  const [data, capacity] = await Promise.all([api('/catalog'), api('/catalog/capacity').catch(() => null)]);
  const items = data.items;
  const f = {
    q: params.get('q') || '', category: params.get('category') || '', owner: params.get('owner') || '',
    owner_type: params.get('owner_type') || '', location: params.get('location') || '',
  };
  const results = h('div', { id: 'catalog-results' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const form = h('form', { class: 'row', role: 'search', onsubmit: (e) => e.preventDefault() },
    field(t('search'), h('input', { type: 'search', name: 'q', value: f.q, placeholder: t('search_hint') })),
    field(t('category'), select('category', [['', t('all')], ...distinct(items, 'category').map((c) => [c, c])], f.category)),
    field(t('owner'), select('owner', [['', t('all')], ...distinct(items, 'owner').map((c) => [c, c])], f.owner)),
    field(t('owner_type'), select('owner_type', [['', t('all')], ...distinct(items, 'owner_type').map((c) => [c, t('orgtype_' + c)])], f.owner_type)),
    field(t('location'), h('input', { type: 'text', name: 'location', value: f.location })));
  const render = () => {
    const v = Object.fromEntries(new FormData(form).entries());
    const q = (v.q || '').toLowerCase();
    const shown = items.filter((i) =>
      (!q || [i.id, i.name, i.category, i.location, i.owner, i.description].some((s) => (s || '').toLowerCase().includes(q))) &&
      (!v.category || i.category === v.category) && (!v.owner || i.owner === v.owner) &&
      (!v.owner_type || i.owner_type === v.owner_type) &&
      (!v.location || (i.location || '').toLowerCase().includes(v.location.toLowerCase())));
    count.textContent = t('n_instruments', { n: shown.length, total: items.length });
    clear(results, h('div', { class: 'cards' }, shown.map((i) => h('article', { class: 'card', 'data-instrument': i.id },
      h('h2', null, link('#/instrument?id=' + encodeURIComponent(i.id), i.name)),
      liveState(i),
      i.description ? h('p', { class: 'desc' }, i.description) : null,
      h('dl', null,
        h('dt', null, t('owner')), h('dd', null, `${i.owner} (${t('orgtype_' + i.owner_type)})`),
        h('dt', null, t('category')), h('dd', null, i.category),
        h('dt', null, t('location')), h('dd', null, i.location),
        h('dt', null, t('rate_academic')), h('dd', null, i.academic_rate != null ? fmtMoney(i.academic_rate) + t('per_hour') : '–'),
        h('dt', null, t('rate_industry')), h('dd', null, i.industry_rate != null ? fmtMoney(i.industry_rate) + t('per_hour') : '–'),
        h('dt', null, t('free_14d')), h('dd', null, fmtHours(i.free_hours_14d) + ' ' + t('hours_short')))))));
  };
  form.addEventListener('input', render);
  render();
  clear(view, h('h1', null, t('catalog_title')),
    h('p', { class: 'lead' }, t('catalog_lead')), form, count, results,
    h('p', null, h('a', { href: '/api/v1/catalog?format=csv', download: '' }, t('download_csv_open_data'))),
    capacity ? h('section', { id: 'capacity', 'aria-labelledby': 'capacity-h' },
      h('h2', { id: 'capacity-h' }, t('capacity_title')),
      h('p', { class: 'muted' }, t('capacity_lead', { from: fmtDate(capacity.from), to: fmtDate(capacity.to) })),
      table(t('capacity_title'), [
        { label: t('category'), key: 'category' },
        { label: t('instruments'), key: 'instruments', num: true },
        { label: t('metered_instruments'), key: 'metered', num: true },
        { label: t('effective_hours'), num: true, fmt: (c) => fmtHours(c.effective_hours) },
        { label: t('utilization'), num: true, fmt: (c) => fmtNum(100 * c.utilization, 1) + ' %' },
        { label: t('spare_hours'), num: true, fmt: (c) => fmtHours(c.spare_hours) },
      ], capacity.items, { csv: '/catalog/capacity' })) : null);
}

export async function instrument(view, params) {
  const id = params.get('id');
  const data = await api('/catalog');
  const i = data.items.find((x) => x.id === id);
  if (!i) {
    clear(view, h('h1', null, t('not_found')), msg('error', t('instrument_not_public')));
    return;
  }
  const rates = [
    [t('rate_academic'), i.academic_rate], [t('rate_industry'), i.industry_rate],
  ].filter((r) => r[1] != null);
  const slots = (i.free_slots || []).slice(0, 14);
  clear(view,
    h('h1', null, i.name),
    h('p', { class: 'lead' }, `${i.category} · ${i.owner} · ${i.location}`),
    i.description ? h('p', { class: 'about', id: 'description' }, i.description) : null,
    h('section', { 'aria-labelledby': 'live-h' }, h('h2', { id: 'live-h' }, t('live_state')), liveState(i)),
    h('div', { class: 'cards' },
      h('section', { class: 'card' }, h('h2', null, t('about')), h('dl', null,
        h('dt', null, t('owner')), h('dd', null, `${i.owner} (${t('orgtype_' + i.owner_type)})`),
        h('dt', null, t('category')), h('dd', null, i.category),
        h('dt', null, t('location')), h('dd', null, i.location),
        h('dt', null, t('value')), h('dd', null, i.value_yuan != null ? fmtMoney(i.value_yuan * 100) : '–'),
        h('dt', null, t('service_hours')), h('dd', null, serviceHoursText(i.service_hours)))),
      h('section', { class: 'card' }, h('h2', null, t('prices')), h('dl', null,
        rates.map(([k, v]) => [h('dt', null, k), h('dd', null, fmtMoney(v) + t('per_hour'))]),
        i.per_sample ? [h('dt', null, t('per_sample')), h('dd', null, fmtMoney(i.per_sample))] : null,
        h('dt', null, t('billing_basis')), h('dd', null, t('basis_' + (i.basis || 'booked'))))),
      h('section', { class: 'card' }, h('h2', null, t('rules')), h('ul', null, rulesList(i.booking).map((r) => h('li', null, r))))),
    h('h2', null, t('free_next_two_weeks')),
    table(t('free_slots'), [
      { label: t('start'), fmt: (r) => fmtTime(r.start) },
      { label: t('end'), fmt: (r) => fmtTime(r.end) },
    ], slots),
    state.me ? h('p', null, h('a', { class: 'button', href: '#/calendar?ids=' + encodeURIComponent(i.id) }, t('book_this')))
      : h('p', null, h('a', { href: '#/login?next=' + encodeURIComponent('/calendar?ids=' + i.id) }, t('log_in_to_book'))));
}

export async function figures(view, params) {
  const year = +(params.get('year') || thisYear());
  const data = await api('/figures' + qs({ year }));
  const p = data.platform || {};
  const years = [thisYear(), thisYear() - 1].map((y) => [y, String(y)]);
  const form = h('form', { class: 'row' }, field(t('year'), select('year', years, year)));
  form.addEventListener('change', () => { location.hash = '#/figures?year=' + new FormData(form).get('year'); });
  clear(view, h('h1', null, t('figures_title', { year })),
    h('p', { class: 'lead' }, t('figures_lead', { from: fmtTime(data.from), to: fmtTime(data.to) })), form,
    h('div', { class: 'kpis' },
      kpi(t('instruments'), p.instruments ?? 0),
      kpi(t('effective_hours'), fmtHours(p.effective_hours)),
      kpi(t('external_hours'), fmtHours(p.external_hours)),
      kpi(t('utilization'), fmtPct(p.utilization)),
      kpi(t('sharing_rate'), fmtPct(p.sharing_rate)),
      kpi(t('avg_rating'), p.avg_rating != null ? p.avg_rating.toFixed(2) : '–')),
    table(t('by_owner_type'), [
      { label: t('owner_type'), fmt: (r) => t('orgtype_' + r.org_type) },
      { label: t('instruments'), key: 'instruments', num: true },
      { label: t('effective_hours'), num: true, fmt: (r) => fmtHours(r.effective_hours) },
      { label: t('external_hours'), num: true, fmt: (r) => fmtHours(r.external_hours) },
      { label: t('utilization'), num: true, fmt: (r) => fmtPct(r.utilization) },
      { label: t('sharing_rate'), num: true, fmt: (r) => fmtPct(r.sharing_rate) },
      { label: t('idle_instruments'), key: 'idle_instruments', num: true },
    ], data.by_owner_type));
}

export async function login(view, params) {
  const next = params.get('next');
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', null,
    field(t('username'), h('input', { name: 'username', autocomplete: 'username', required: true })),
    field(t('password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, t('log_in')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form).entries());
    try {
      await api('/login', { method: 'POST', body: { username: v.username, password: v.password } });
      state.me = await api('/me');
      forgetNames();
      location.hash = '#' + (next && next.startsWith('/') ? next : home());
    } catch (err) {
      clear(out, msg('error', err.status === 401 || err.status === 403 ? t('login_failed') : errorText(err)));
    }
  });
  clear(view, h('div', { class: 'login' }, h('h1', null, t('log_in')), out, form,
    h('p', { class: 'demo-logins' }, t('login_hint'))));
}
