// admin.js - organisations, users, vouchers and gateways (a gateway's MQTT credentials are shown
// once, when it is registered or its password rotated).
import { api, apiAll, state, h, clear, msg, errorText, toast, table, fmtTime, fmtMoney, badge,
  field, select, ask, qs } from '../core.js';
import { t } from '../i18n.js';
import { route } from '../main.js';

const ORG_TYPES = ['government', 'enterprise', 'university', 'institute'];
const ROLES = ['researcher', 'manager', 'auditor', 'admin'];

async function create(title, fields, send) {
  const v = await ask(title, fields, { submit: t('create') });
  if (!v) return null;
  try {
    const r = await send(v);
    toast('success', t('saved'));
    return r;
  } catch (e) {
    toast('error', errorText(e));
    return null;
  }
}

export async function orgs(view) {
  const items = await apiAll('/orgs');
  clear(view, h('h1', null, t('nav/orgs')),
    h('p', null, h('button', { type: 'button', id: 'new-org', onclick: async () => {
      if (await create(t('new_org'), [field(t('name'), h('input', { name: 'name', required: true })),
        field(t('type'), select('type', ORG_TYPES.map((o) => [o, t('orgtype_' + o)]), 'university'))],
      (v) => api('/orgs', { method: 'POST', body: { name: v.name, type: v.type } }))) route();
    } }, t('new_org'))),
    table(t('nav/orgs'), [
      { label: '#', key: 'id', num: true }, { label: t('name'), key: 'name' },
      { label: t('type'), fmt: (o) => t('orgtype_' + o.type) },
    ], items, { csv: '/orgs' }));
}

export async function users(view) {
  const [items, orgList] = await Promise.all([apiAll('/users'), apiAll('/orgs')]);
  const orgName = Object.fromEntries(orgList.map((o) => [o.id, o.name]));
  clear(view, h('h1', null, t('nav/users')),
    h('p', null, h('button', { type: 'button', id: 'new-user', onclick: async () => {
      if (await create(t('new_user'), [
        field(t('username'), h('input', { name: 'username', required: true, autocomplete: 'off' })),
        field(t('display_name'), h('input', { name: 'display_name' })),
        field(t('organisation'), select('org_id', orgList.map((o) => [o.id, o.name]))),
        field(t('role'), select('role', ROLES.map((r) => [r, t('role_' + r)]), 'researcher')),
        field(t('badge'), h('input', { name: 'badge', type: 'number', min: 1 })),
        field(t('password'), h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' }))],
      (v) => {
        const body = { username: v.username, org_id: +v.org_id, role: v.role, password: v.password };
        if (v.display_name) body.display_name = v.display_name;
        if (v.badge) body.badge = +v.badge;
        return api('/users', { method: 'POST', body });
      })) route();
    } }, t('new_user'))),
    table(t('nav/users'), [
      { label: '#', key: 'id', num: true }, { label: t('username'), key: 'username' },
      { label: t('display_name'), key: 'display_name' },
      { label: t('organisation'), fmt: (u) => orgName[u.org_id] || '' },
      { label: t('role'), fmt: (u) => t('role_' + u.role) }, { label: t('badge'), key: 'badge', num: true },
    ], items, { csv: '/users' }));
}

export async function vouchers(view) {
  const [items, orgList] = await Promise.all([apiAll('/vouchers'), apiAll('/orgs')]);
  const orgName = Object.fromEntries(orgList.map((o) => [o.id, o.name]));
  clear(view, h('h1', null, t('nav/vouchers')), h('p', { class: 'lead' }, t('vouchers_lead')),
    h('p', null, h('button', { type: 'button', id: 'new-voucher', onclick: async () => {
      if (await create(t('new_voucher'), [
        field(t('organisation'), select('org_id', orgList.map((o) => [o.id, o.name]))),
        field(t('percent'), h('input', { name: 'percent', type: 'number', min: 1, max: 100, required: true })),
        field(t('annual_cap'), h('input', { name: 'annual_cap', type: 'number', min: 0, step: '0.01', required: true })),
        field(t('valid_from'), h('input', { name: 'valid_from', type: 'date', required: true })),
        field(t('valid_to'), h('input', { name: 'valid_to', type: 'date', required: true }))],
      (v) => api('/vouchers', { method: 'POST', body: { org_id: +v.org_id, percent: +v.percent,
        annual_cap: Math.round(+v.annual_cap * 100), valid_from: v.valid_from, valid_to: v.valid_to } }))) route();
    } }, t('new_voucher'))),
    table(t('nav/vouchers'), [
      { label: '#', key: 'id', num: true },
      { label: t('organisation'), fmt: (v) => orgName[v.org_id] || v.org_id },
      { label: t('percent'), num: true, fmt: (v) => v.percent + '%' },
      { label: t('annual_cap'), num: true, fmt: (v) => fmtMoney(v.annual_cap) },
      { label: t('used'), num: true, fmt: (v) => fmtMoney(v.used) },
      { label: t('valid_from'), key: 'valid_from' }, { label: t('valid_to'), key: 'valid_to' },
    ], items, { csv: '/vouchers' }));
}

function showSecret(view, g) {
  const box = view.querySelector('#gateway-secret');
  clear(box, msg('success', t('gateway_secret_once', { id: g.id })),
    h('p', { class: 'secret' }, `username = ${g.username}`, h('br'), `password = ${g.password}`),
    h('p', { class: 'muted' }, t('gateway_secret_hint')));
}

export async function gateways(view) {
  const items = (await api('/gateways')).items;
  const isAdmin = state.me.role === 'admin';
  const orgList = isAdmin ? await apiAll('/orgs') : [];
  const act = (fn) => async () => {
    try { await fn(); } catch (e) { toast('error', errorText(e)); }
  };
  clear(view, h('h1', null, t('nav/gateways')), h('p', { class: 'lead' }, t('gateways_lead')),
    h('div', { id: 'gateway-secret', 'aria-live': 'polite' }),
    isAdmin || state.me.role === 'manager' ? h('p', null, h('button', { type: 'button', id: 'new-gateway', onclick: async () => {
      const v = await ask(t('new_gateway'), [
        field('ID', h('input', { name: 'id', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,62}' })),
        field(t('name'), h('input', { name: 'name' })),
        isAdmin ? field(t('organisation'), select('org_id', orgList.map((o) => [o.id, o.name]))) : null], { submit: t('create') });
      if (!v) return;
      try {
        const body = { id: v.id, org_id: isAdmin ? +v.org_id : state.me.org_id };
        if (v.name) body.name = v.name;
        const g = await api('/gateways', { method: 'POST', body });
        await route();
        showSecret(document.getElementById('main'), g);
      } catch (e) { toast('error', errorText(e)); }
    } }, t('new_gateway'))) : null,
    table(t('nav/gateways'), [
      { label: 'ID', key: 'id' }, { label: t('name'), key: 'name' },
      { label: t('status'), fmt: (g) => !g.enabled ? badge('state', 'fault', t('disabled')) : g.online ? badge('state', 'running', t('online')) : badge('state', 'offline', t('offline')) },
      { label: t('last_seen'), fmt: (g) => fmtTime(g.last_seen) },
      { label: t('backlog'), num: true, fmt: (g) => g.outbox ?? '–' },
      { label: t('last_ack'), key: 'last_ack', num: true },
      { label: t('instruments'), fmt: (g) => (g.instruments || []).join(', ') },
      { label: t('actions'), fmt: (g) => h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: act(async () => {
          if (!(await ask(t('rotate_q', { id: g.id }), h('p', null, t('rotate_text')), { submit: t('rotate') }))) return;
          const r = await api(`/gateways/${encodeURIComponent(g.id)}/rotate`, { method: 'POST', body: {} });
          showSecret(view, r);
        }) }, t('rotate')),
        h('button', { type: 'button', class: g.enabled ? 'danger' : 'secondary', onclick: act(async () => {
          await api(`/gateways/${encodeURIComponent(g.id)}`, { method: 'PATCH', body: { disabled: g.enabled } });
          toast('success', g.enabled ? t('gateway_disabled') : t('gateway_enabled'));
          route();
        }) }, g.enabled ? t('disable') : t('enable'))) },
    ], items));
}
