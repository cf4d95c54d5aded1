// orders.js - sample-testing orders (送样检测): a researcher's or an enterprise's orders and a new
// one; the owner's staff take the steps (accept, decline with a reason, receive, book the work on
// the calendar, attach the report, complete). Also the purchase review (新购查重) for auditors
// and one's own notification settings.
import { api, apiAll, state, h, clear, msg, errorText, toast, table, fmtTime, fmtHours, fmtNum,
  badge, field, select, ask, qs, upload, wallToMs, msToWall } from '../core.js';
import { t, lang, known } from '../i18n.js';
import { route } from '../main.js';

const STATUSES = ['requested', 'accepted', 'declined', 'received', 'scheduled', 'completed', 'cancelled'];

// The instruments the caller sees, by id (owner organisation, name, category).
async function instruments() {
  const items = await apiAll('/instruments');
  return Object.fromEntries(items.map((i) => [i.id, i]));
}

// Run a step of order o and show what became of it.
async function step(o, action, body) {
  try {
    await api(`/orders/${o.id}/${action}`, { method: 'POST', body: body || {} });
    toast('success', t('order_step_done', { id: o.id, step: t('order_' + action) }));
    route();
  } catch (e) { toast('error', errorText(e)); }
}

function orderActions(o, inst) {
  const staff = state.me.role === 'admin' || (state.me.role === 'manager' && inst && inst.org_id === state.me.org_id);
  const mine = o.user_id === state.me.id;
  const out = h('div', { class: 'actions' });
  const button = (action, label, fn, cls) => h('button', { type: 'button', class: cls || 'secondary',
    'data-order-action': action, 'data-order': o.id, onclick: fn }, label);
  if (staff && o.status === 'requested') {
    out.append(button('accept', t('order_accept'), () => step(o, 'accept'), 'primary'));
    out.append(button('decline', t('order_decline'), async () => {
      const v = await ask(t('order_decline_q', { id: o.id }),
        field(t('reason'), h('textarea', { name: 'reason', maxlength: 500, rows: 3, required: true })),
        { submit: t('order_decline'), danger: true });
      if (v) step(o, 'decline', { reason: v.reason.trim() });
    }, 'danger'));
  }
  if (staff && o.status === 'accepted') {
    out.append(button('receive', t('order_receive'), async () => {
      const v = await ask(t('order_receive_q', { id: o.id }),
        field(t('samples_received'), h('input', { type: 'number', name: 'samples', min: 0, max: 10000, value: o.samples, required: true })),
        { submit: t('order_receive') });
      if (v) step(o, 'receive', { samples_received: +v.samples });
    }));
  }
  if (staff && (o.status === 'received' || o.status === 'scheduled')) {
    out.append(button('schedule', t('order_schedule'), async () => {
      const start = Math.ceil(Date.now() / 3600000) * 3600000;
      const v = await ask(t('order_schedule_q', { id: o.id }), [
        h('p', { class: 'muted' }, t('order_schedule_lead')),
        field(t('start'), h('input', { type: 'datetime-local', name: 'start', required: true, value: msToWall(start), step: 60 })),
        field(t('end'), h('input', { type: 'datetime-local', name: 'end', required: true, value: msToWall(start + 2 * 3600000), step: 60 }))],
      { submit: t('order_schedule') });
      if (v) step(o, 'schedule', { start: new Date(wallToMs(v.start)).toISOString(), end: new Date(wallToMs(v.end)).toISOString() });
    }));
    const file = h('input', { type: 'file', name: 'results', 'data-results': o.id, 'aria-label': t('order_results_file'),
      onchange: async () => {
        const f = file.files[0];
        if (!f) return;
        const name = f.name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 100) || 'report';
        try {
          await upload(`/orders/${o.id}/results?name=${encodeURIComponent(name)}`, f);
          toast('success', t('order_results_saved', { id: o.id }));
          route();
        } catch (e) { toast('error', errorText(e)); }
      } });
    out.append(h('label', { class: 'file-button secondary' }, t('order_attach'), file));
    if (o.result) out.append(button('complete', t('order_complete'), () => step(o, 'complete'), 'primary'));
  }
  if ((staff && !['declined', 'completed', 'cancelled'].includes(o.status)) ||
      (mine && (o.status === 'requested' || o.status === 'accepted'))) {
    out.append(button('cancel', t('order_cancel'), async () => {
      const v = await ask(t('order_cancel_q', { id: o.id }),
        field(t('reason'), h('textarea', { name: 'reason', maxlength: 500, rows: 3 })),
        { submit: t('order_cancel'), danger: true });
      if (v) step(o, 'cancel', v.reason.trim() ? { reason: v.reason.trim() } : {});
    }, 'danger'));
  }
  return out;
}

function newOrderForm(insts) {
  const choices = Object.values(insts).filter((i) => i.public || i.org_id === state.me.org_id)
    .sort((a, b) => a.name.localeCompare(b.name)).map((i) => [i.id, `${i.name} (${i.id})`]);
  const form = h('form', { class: 'card', id: 'new-order' },
    h('h2', null, t('order_new')),
    h('p', { class: 'muted' }, t('order_new_lead')),
    h('div', { class: 'row' },
      field(t('instrument'), select('instrument', choices, choices.length ? choices[0][0] : '')),
      field(t('samples'), h('input', { type: 'number', name: 'samples', min: 1, max: 10000, value: 1, required: true })),
      field(t('urgency'), select('urgency', [['normal', t('urgency_normal')], ['urgent', t('urgency_urgent')]], 'normal'))),
    h('div', { class: 'stack' },
      field(t('analysis'), h('input', { type: 'text', name: 'analysis', maxlength: 2000, required: true,
        placeholder: t('analysis_hint') })),
      field(t('description'), h('textarea', { name: 'description', maxlength: 2000, rows: 3,
        placeholder: t('description_hint') }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('order_place'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = Object.fromEntries(new FormData(form).entries());
    try {
      const o = await api('/orders', { method: 'POST', body: { instrument: v.instrument, samples: +v.samples,
        analysis: v.analysis.trim(), description: v.description.trim(), urgency: v.urgency } });
      toast('success', t('order_placed', { id: o.id }));
      route();
    } catch (e) { toast('error', errorText(e)); }
  });
  return form;
}

export async function orders(view, params) {
  const status = params.get('status') || '';
  const path = '/orders' + qs({ status });
  const [items, insts] = await Promise.all([apiAll(path, 2000), instruments()]);
  const filter = h('form', { class: 'row' }, field(t('status'), select('status',
    [['', t('all')], ...STATUSES.map((s) => [s, t('ostatus_' + s)])], status)));
  filter.addEventListener('change', () => { location.hash = '#/orders' + qs({ status: new FormData(filter).get('status') }); });
  const name = (id) => (insts[id] ? insts[id].name : id);
  clear(view, h('h1', null, t('nav/orders')), h('p', { class: 'lead' }, t('orders_lead')),
    state.me.role === 'auditor' ? null : newOrderForm(insts), filter,
    table(t('n_orders', { n: items.length }), [
      { label: '#', key: 'id', num: true },
      { label: t('instrument'), fmt: (o) => name(o.instrument) },
      { label: t('analysis'), fmt: (o) => [o.analysis, o.description ? h('div', { class: 'muted' }, o.description) : null] },
      { label: t('samples'), num: true, fmt: (o) => o.samples_received !== null && o.samples_received !== o.samples
        ? `${o.samples_received} / ${o.samples}` : String(o.samples) },
      { label: t('urgency'), fmt: (o) => t('urgency_' + o.urgency) },
      { label: t('created'), fmt: (o) => fmtTime(o.created_at) },
      { label: t('status'), fmt: (o) => [badge('ostatus', o.status), o.reason ? h('div', { class: 'muted reason' }, o.reason) : null] },
      { label: t('metered'), num: true, fmt: (o) => o.metered_seconds ? fmtHours(o.metered_seconds / 3600) + ' h' : '' },
      { label: t('order_report'), fmt: (o) => o.result
        ? h('a', { href: `/api/v1/orders/${o.id}/results`, download: o.result.name, 'data-report': o.id },
          `${o.result.name} (${o.result.size < 1024 ? o.result.size + ' B' : fmtNum(o.result.size / 1024, 1) + ' KB'})`) : '' },
      { label: t('actions'), fmt: (o) => orderActions(o, insts[o.instrument]) },
    ], items));
}

// The verdict's reasons: the server's sentences, in Chinese said again from their codes and
// the figures (a code this page does not know keeps the server's sentence).
function reasonTexts(r) {
  const codes = r.reason_codes || [];
  const tot = r.totals;
  const figures = {
    n: tot.metered, eff: fmtHours(tot.effective_hours), rated: fmtHours(tot.rated_hours),
    util: fmtNum(tot.rated_hours > 0 ? (100 * tot.effective_hours) / tot.rated_hours : 0, 0),
    ext: fmtHours(tot.external_hours), spare: fmtHours(tot.spare_hours), usable: fmtHours(tot.usable_hours),
    share: fmtNum(100 * r.spare_share, 0), want: fmtHours(r.expected_hours),
  };
  return (r.reasons || []).map((text, i) => {
    const code = codes[i];
    if (lang() !== 'zh' || !code || !known('reason/' + code)) return text;
    const n = code === 'none_metered' ? tot.comparable : code === 'not_metered' ? tot.comparable - tot.metered : tot.metered;
    return t('reason/' + code, { ...figures, n });
  });
}

export async function review(view, params) {
  const insts = await instruments();
  const cats = [...new Set(Object.values(insts).map((i) => i.category).filter(Boolean))].sort();
  const v = { category: params.get('category') || cats[0] || '', value_yuan: params.get('value_yuan') || '1000000',
    expected_hours: params.get('expected_hours') || '500', region: params.get('region') || '' };
  const form = h('form', { class: 'card', id: 'review-form' },
    h('div', { class: 'row' },
      field(t('category'), select('category', cats.map((c) => [c, c]), v.category)),
      field(t('value_yuan'), h('input', { type: 'number', name: 'value_yuan', min: 1, step: 1, value: v.value_yuan, required: true })),
      field(t('expected_hours'), h('input', { type: 'number', name: 'expected_hours', min: 1, step: 1, value: v.expected_hours, required: true })),
      field(t('region'), h('input', { type: 'text', name: 'region', value: v.region, placeholder: t('region_hint') }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('review_run'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = '#/review' + qs(Object.fromEntries(new FormData(form).entries()));
  });
  const out = [];
  if (params.get('category')) {
    const path = '/purchase-review' + qs(v);
    try {
      const r = await api(path);
      const ok = r.verdict === 'existing capacity suffices';
      out.push(h('section', { class: 'card verdict', id: 'verdict' },
        h('h2', null, t('review_verdict')),
        msg(ok ? 'success' : 'warning', ok ? t('verdict_suffices') : t('verdict_justified')),
        h('ul', { id: 'reasons' }, reasonTexts(r).map((x) => h('li', null, x))),
        h('p', null, t('review_capacity', { usable: fmtHours(r.totals.usable_hours), want: fmtHours(r.expected_hours),
          spare: fmtHours(r.totals.spare_hours), n: r.totals.metered })),
        h('p', { class: 'muted' }, t('review_window', { from: fmtTime(r.from), to: fmtTime(r.to) }))));
      out.push(table(t('review_comparable', { n: r.items.length }), [
        { label: t('instrument'), fmt: (i) => `${i.name} (${i.instrument})` },
        { label: t('owner'), key: 'org' },
        { label: t('location'), key: 'location' },
        { label: t('value_yuan'), num: true, fmt: (i) => fmtNum(i.value_yuan, 0) },
        { label: t('metered'), fmt: (i) => (i.metered ? t('yes') : t('no')) },
        { label: t('rated_hours'), num: true, fmt: (i) => fmtHours(i.rated_hours) },
        { label: t('effective_hours'), num: true, fmt: (i) => fmtHours(i.effective_hours) },
        { label: t('external_hours'), num: true, fmt: (i) => fmtHours(i.external_hours) },
        { label: t('utilization'), num: true, fmt: (i) => fmtNum(100 * i.utilization, 1) + ' %' },
        { label: t('spare_hours'), num: true, fmt: (i) => fmtHours(i.spare_hours) },
      ], r.items, { csv: path }));
    } catch (e) { out.push(msg('error', errorText(e))); }
  }
  clear(view, h('h1', null, t('nav/review')), h('p', { class: 'lead' }, t('review_lead')), form, out);
}

const KINDS = ['booking.confirmed', 'booking.rejected', 'booking.cancelled', 'booking.reminder',
  'approval.waiting', 'order.placed', 'order.accepted', 'order.declined', 'order.received',
  'order.scheduled', 'order.completed', 'order.cancelled', 'statement.ready', 'digest'];

export async function account(view) {
  const me = await api(`/users/${state.me.id}`);
  const off = new Set(me.mail_opt_out || []);
  const form = h('form', { class: 'card', id: 'account-form' },
    h('div', { class: 'row' },
      field(t('email'), h('input', { type: 'email', name: 'email', value: me.email || '', maxlength: 254 })),
      field(t('mail_language'), select('lang', [['zh', '中文'], ['en', 'English']], me.lang))),
    h('fieldset', null, h('legend', null, t('mail_kinds')),
      KINDS.map((k) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'kind', value: k, checked: !off.has(k) }), t('kind_' + k)))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const on = new Set(fd.getAll('kind'));
    const email = String(fd.get('email') || '').trim();
    try {
      await api(`/users/${state.me.id}`, { method: 'PATCH', body: { email: email || null, lang: fd.get('lang'),
        mail_opt_out: KINDS.filter((k) => !on.has(k)) } });
      toast('success', t('saved'));
      route();
    } catch (e) { toast('error', errorText(e)); }
  });
  clear(view, h('h1', null, t('nav/account')), h('p', { class: 'lead' }, t('account_lead')), form);
}
