// main.js - boots the UI: the platform, who is logged in, the navigation for their role and
// the router (#/path?query), with the language switch.
import { api, state, h, clear, msg, errorText, toast, forgetNames } from './core.js';
import { t, lang, setLang } from './i18n.js';
import * as pub from './pages/public.js';
import * as mine from './pages/mine.js';
import * as cal from './pages/calendar.js';
import * as mgr from './pages/manager.js';
import * as aud from './pages/auditor.js';
import * as adm from './pages/admin.js';
import * as ord from './pages/orders.js';

// path -> [page function, roles that may open it (none = everyone)]
const routes = {
  '/': [pub.catalog],
  '/instrument': [pub.instrument],
  '/figures': [pub.figures],
  '/login': [pub.login],
  '/calendar': [cal.calendar, ['researcher', 'manager', 'admin']],
  '/bookings': [mine.bookings, ['researcher', 'manager', 'admin']],
  '/usage': [mine.usage, ['researcher', 'manager', 'admin']],
  '/charges': [mine.charges, ['researcher', 'manager', 'admin']],
  '/approvals': [mgr.approvals, ['manager', 'admin']],
  '/instruments': [mgr.instruments, ['manager', 'admin']],
  '/instrument-edit': [mgr.instrumentEdit, ['manager', 'admin']],
  '/dashboard': [mgr.dashboard, ['manager', 'admin']],
  '/statements': [mgr.statements, ['manager', 'admin']],
  '/gateways': [adm.gateways, ['manager', 'admin']],
  '/metrics': [aud.metrics, ['auditor', 'admin']],
  '/evaluation': [aud.evaluation, ['auditor', 'admin']],
  '/collaboration': [aud.collaboration, ['auditor', 'admin']],
  '/idle': [aud.idle, ['auditor', 'admin']],
  '/evidence': [aud.evidence, ['manager', 'auditor', 'admin']],
  '/readings': [aud.readings, ['manager', 'auditor', 'admin']],
  '/audit': [aud.audit, ['auditor', 'admin']],
  '/orgs': [adm.orgs, ['admin']],
  '/users': [adm.users, ['admin']],
  '/vouchers': [adm.vouchers, ['admin']],
  '/orders': [ord.orders, ['researcher', 'manager', 'auditor', 'admin']],
  '/review': [ord.review, ['auditor', 'admin']],
  '/account': [ord.account, ['researcher', 'manager', 'auditor', 'admin']],
};

// The menu of each role, in the order a person of that role works.
const menus = {
  anonymous: ['/', '/figures'],
  researcher: ['/', '/calendar', '/bookings', '/orders', '/usage', '/charges', '/figures', '/account'],
  manager: ['/approvals', '/orders', '/instruments', '/dashboard', '/statements', '/gateways',
    '/calendar', '/bookings', '/', '/figures', '/account'],
  auditor: ['/metrics', '/evaluation', '/collaboration', '/idle', '/review', '/orders', '/audit', '/',
    '/figures', '/account'],
  admin: ['/orgs', '/users', '/vouchers', '/gateways', '/instruments', '/approvals', '/orders',
    '/dashboard', '/metrics', '/evaluation', '/review', '/audit', '/calendar', '/'],
};

export function home() {
  const role = state.me ? state.me.role : 'anonymous';
  return menus[role][0];
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  return { path, params: new URLSearchParams(query || '') };
}

function renderNav(current) {
  const role = state.me ? state.me.role : 'anonymous';
  const nav = document.getElementById('nav');
  clear(nav, menus[role].map((p) => h('a', { href: '#' + p, 'aria-current': p === current ? 'page' : null },
    t('nav' + (p === '/' ? '/catalog' : p)))));
  const who = document.getElementById('who');
  if (state.me) {
    clear(who, h('span', null, `${state.me.display_name || state.me.username} · ${t('role_' + state.me.role)} `),
      h('button', { type: 'button', class: 'link-button', id: 'logout', onclick: logout }, t('log_out')));
  } else {
    clear(who, h('a', { href: '#/login', id: 'login-link' }, t('log_in')));
  }
  const switcher = document.getElementById('lang');
  switcher.textContent = lang() === 'zh' ? 'English' : '中文';
  switcher.setAttribute('lang', lang() === 'zh' ? 'en' : 'zh-CN');
  switcher.setAttribute('title', t('switch_language'));
  document.getElementById('brand').textContent = state.platform ? state.platform.name : 'LabShare';
  document.querySelector('.skip').textContent = t('skip_to_content');
}

async function logout() {
  try { await api('/logout', { method: 'POST' }); } catch (e) { /* the session may be gone already */ }
  state.me = null;
  forgetNames();
  location.hash = '#/';
  route();
}

let generation = 0;

export async function route() {
  const { path, params } = parseHash();
  const main = document.getElementById('main');
  const entry = routes[path];
  const mine = ++generation;
  renderNav(path);
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  if (!entry) {
    clear(main, h('h1', null, t('not_found')), h('p', null, h('a', { href: '#/' }, t('nav/catalog'))));
    return;
  }
  const [page, roles] = entry;
  if (roles && !state.me) {
    location.hash = '#/login?next=' + encodeURIComponent(location.hash.slice(1));
    return;
  }
  if (roles && !roles.includes(state.me.role)) {
    clear(main, h('h1', null, t('not_allowed')), msg('error', t('not_allowed_text')));
    return;
  }
  main.removeAttribute('aria-busy');
  clear(main, h('p', { class: 'muted' }, t('loading')));
  main.setAttribute('aria-busy', 'true');
  try {
    const view = h('div', { class: 'page' });
    await page(view, params, { stale: () => mine !== generation });
    if (mine !== generation) return;
    clear(main, view);
    const title = view.querySelector('h1');
    document.title = (title ? title.textContent + ' · ' : '') + (state.platform ? state.platform.name : 'LabShare');
  } catch (e) {
    if (mine !== generation) return;
    if (e.status === 401) {
      state.me = null;
      location.hash = '#/login?next=' + encodeURIComponent(path);
      return;
    }
    clear(main, h('h1', null, t('error')), msg('error', errorText(e)));
  } finally {
    if (mine === generation) {
      main.removeAttribute('aria-busy');
      main.setAttribute('data-page', path);
    }
  }
}

export async function refreshMe() {
  try { state.me = await api('/me'); } catch (e) { state.me = null; }
}

async function boot() {
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    route();
  });
  const toggle = document.getElementById('menu-toggle');
  toggle.setAttribute('aria-label', t('menu'));
  toggle.addEventListener('click', () => {
    const nav = document.getElementById('nav');
    nav.classList.toggle('open');
    toggle.setAttribute('aria-expanded', nav.classList.contains('open') ? 'true' : 'false');
  });
  try {
    state.platform = await api('/platform');
  } catch (e) {
    toast('error', errorText(e));
  }
  if (document.cookie.includes('ls_csrf=')) await refreshMe();
  window.addEventListener('hashchange', route);
  await route();
}

boot();
