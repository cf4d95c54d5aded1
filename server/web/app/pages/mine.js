// mine.js - a researcher's own work: bookings (cancel, rate, the reason of a rejection), the
// calendar subscription, usage sessions, charges and a month's statement of them.
import { api, apiAll, state, h, clear, msg, errorText, toast, table, fmtTime, fmtMoney, fmtHours,
  badge, field, select, ask, link, qs, thisMonth, lastMonths, instrumentNames } from '../core.js';
import { t } from '../i18n.js';
import { route } from '../main.js';

function bookingActions(b) {
  const out = h('div', { class: 'actions' });
  const future = Date.parse(b.end) > Date.now();
  if ((b.status === 'pending' || b.status === 'confirmed') && future) {
    out.append(h('button', { type: 'button', class: 'danger', 'data-cancel': b.id, onclick: async () => {
      const ok = await ask(t('cancel_booking_q', { id: b.id }), h('p', null, `${fmtTime(b.start)} – ${fmtTime(b.end)}`),
        { submit: t('cancel_booking'), danger: true });
      if (!ok) return;
      try {
        await api(`/bookings/${b.id}/cancel`, { method: 'POST', body: {} });
        toast('success', t('cancelled_n', { id: b.id }));
        route();
      } catch (e) { toast('error', errorText(e)); }
    } }, t('cancel_booking')));
  }
  if (b.status === 'completed' && b.user_id === state.me.id && !b.rating) {
    out.append(h('button', { type: 'button', class: 'secondary', 'data-rate': b.id, onclick: async () => {
      const v = await ask(t('rate_q', { id: b.id }), [
        field(t('score'), select('score', [5, 4, 3, 2, 1].map((n) => [n, '★'.repeat(n)]), 5)),
        field(t('comment'), h('textarea', { name: 'comment', maxlength: 500, rows: 3 }))], { submit: t('rate') });
      if (!v) return;
      try {
        const body = { score: +v.score };
        if (v.comment.trim()) body.comment = v.comment.trim();
        await api(`/bookings/${b.id}/rating`, { method: 'POST', body });
        toast('success', t('thanks_rating'));
        route();
      } catch (e) { toast('error', errorText(e)); }
    } }, t('rate')));
  }
  return out;
}

export async function bookings(view, params) {
  const status = params.get('status') || '';
  const since = params.get('since') || '90';
  const from = since === 'all' ? undefined : new Date(Date.now() - +since * 86400000).toISOString();
  const path = '/bookings' + qs({ status, from, user_id: state.me.role === 'researcher' ? undefined : state.me.id });
  const [all, names] = await Promise.all([apiAll(path, 3000), instrumentNames()]);
  const data = { total: all.length };
  // the coming ones first (soonest on top), then the past (latest on top)
  const now = Date.now();
  const items = all.slice().sort((a, b) => {
    const fa = Date.parse(a.end) > now, fb = Date.parse(b.end) > now;
    if (fa !== fb) return fa ? -1 : 1;
    return fa ? Date.parse(a.start) - Date.parse(b.start) : Date.parse(b.start) - Date.parse(a.start);
  });
  const feeds = await api('/feeds').catch(() => ({ items: [] }));
  const feedBox = h('div', { id: 'feed-box' });
  const showFeeds = () => clear(feedBox,
    feeds.items.length ? h('p', null, t('feeds_have', { n: feeds.items.length })) : null,
    h('button', { type: 'button', class: 'secondary', id: 'make-feed', onclick: async () => {
      try {
        const f = await api('/feeds', { method: 'POST', body: { kind: 'user' } });
        clear(feedBox, msg('success', t('feed_made')), h('p', { class: 'secret', id: 'feed-url' }, f.url),
          h('p', { class: 'muted' }, t('feed_once')));
      } catch (e) { toast('error', errorText(e)); }
    } }, t('make_feed')));
  showFeeds();
  const filter = h('form', { class: 'row' }, field(t('status'), select('status', [['', t('all')],
    ...['pending', 'confirmed', 'completed', 'cancelled', 'no_show'].map((s) => [s, t('status_' + s)])], status)),
  field(t('since'), select('since', [['30', t('since_days', { n: 30 })], ['90', t('since_days', { n: 90 })],
    ['365', t('since_days', { n: 365 })], ['all', t('all')]], since)));
  filter.addEventListener('change', () => {
    const v = new FormData(filter);
    location.hash = '#/bookings' + qs({ status: v.get('status'), since: v.get('since') });
  });
  clear(view, h('h1', null, t('my_bookings')),
    h('p', { class: 'lead' }, h('a', { href: '#/calendar' }, t('book_new'))), filter,
    table(t('n_bookings', { n: data.total }), [
      { label: '#', key: 'id', num: true },
      { label: t('instrument'), fmt: (b) => link('#/calendar?ids=' + encodeURIComponent(b.instrument), names[b.instrument] || b.instrument) },
      { label: t('start'), fmt: (b) => fmtTime(b.start) },
      { label: t('end'), fmt: (b) => fmtTime(b.end) },
      { label: t('project'), key: 'project' },
      { label: t('status'), fmt: (b) => [badge('status', b.status), b.reason ? h('div', { class: 'muted reason' }, t('reason') + ': ' + b.reason) : null] },
      { label: t('expected_charge'), num: true, fmt: (b) => fmtMoney(b.expected_charge) },
      { label: t('metered'), num: true, fmt: (b) => b.metered_seconds ? fmtHours(b.metered_seconds / 3600) + ' h' : '' },
      { label: t('rating'), fmt: (b) => b.rating ? '★'.repeat(b.rating) : '' },
      { label: t('actions'), fmt: bookingActions },
    ], items, { csv: path }),
    h('h2', null, t('ical_title')), h('p', { class: 'muted' }, t('ical_lead')), feedBox);
}

export async function usage(view, params) {
  const month = params.get('month') || thisMonth();
  const path = '/usage' + qs({ month, user_id: state.me.role === 'researcher' ? undefined : state.me.id });
  const [items, names] = await Promise.all([apiAll(path), instrumentNames()]);
  const form = h('form', { class: 'row' }, field(t('month'), select('month', lastMonths(12).reverse().map((m) => [m, m]), month)));
  form.addEventListener('change', () => { location.hash = '#/usage?month=' + new FormData(form).get('month'); });
  const total = items.reduce((s, u) => s + u.run_seconds, 0);
  clear(view, h('h1', null, t('my_usage')), h('p', { class: 'lead' }, t('usage_lead')), form,
    h('p', null, t('usage_total', { hours: fmtHours(total / 3600), n: items.length })),
    table(t('sessions'), [
      { label: t('instrument'), fmt: (u) => names[u.instrument] || u.instrument },
      { label: t('start'), fmt: (u) => fmtTime(u.start) },
      { label: t('end'), fmt: (u) => fmtTime(u.end) },
      { label: t('run_time'), num: true, fmt: (u) => fmtHours(u.run_seconds / 3600) + ' h' },
      { label: t('samples'), key: 'samples', num: true },
      { label: t('attribution'), fmt: (u) => t('attr_' + u.attribution) + (u.booking_id ? ` #${u.booking_id}` : '') },
    ], items, { csv: path }));
}

export async function charges(view, params) {
  const month = params.get('month') || thisMonth();
  const path = '/charges' + qs({ month });
  const [items, names] = await Promise.all([apiAll(path), instrumentNames()]);
  const form = h('form', { class: 'row' }, field(t('month'), select('month', lastMonths(12).reverse().map((m) => [m, m]), month)));
  form.addEventListener('change', () => { location.hash = '#/charges?month=' + new FormData(form).get('month'); });
  const sum = (k) => items.reduce((s, c) => s + (c[k] || 0), 0);
  clear(view, h('h1', null, t('my_charges')), h('p', { class: 'lead' }, t('charges_lead')), form,
    h('section', { class: 'kpis', 'aria-label': t('statement_of', { month }) },
      h('div', { class: 'kpi' }, h('div', { class: 'v', id: 'gross' }, fmtMoney(sum('amount'))), h('div', { class: 'k' }, t('gross'))),
      h('div', { class: 'kpi' }, h('div', { class: 'v' }, fmtMoney(sum('voucher'))), h('div', { class: 'k' }, t('voucher'))),
      h('div', { class: 'kpi' }, h('div', { class: 'v' }, fmtMoney(sum('payable'))), h('div', { class: 'k' }, t('payable')))),
    table(t('statement_of', { month }), [
      { label: t('date'), fmt: (c) => fmtTime(c.at) },
      { label: t('instrument'), fmt: (c) => names[c.instrument] || c.instrument },
      { label: t('kind'), fmt: (c) => t('chargekind_' + c.kind) },
      { label: t('category'), fmt: (c) => t('cat_' + c.category) },
      { label: t('minutes'), key: 'minutes', num: true },
      { label: t('samples'), key: 'samples', num: true },
      { label: t('amount'), num: true, fmt: (c) => fmtMoney(c.amount) },
      { label: t('voucher'), num: true, fmt: (c) => fmtMoney(c.voucher) },
      { label: t('payable'), num: true, fmt: (c) => fmtMoney(c.payable) },
      { label: t('evidence'), fmt: (c) => c.booking_id ? link(`#/bookings?highlight=${c.booking_id}`, `#${c.booking_id}`) : c.source },
    ], items, { csv: path }));
}
