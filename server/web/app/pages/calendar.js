// calendar.js - the week calendar of one instrument or several side by side: free time, time
// booked by others, outages and the hours outside service (shaded), and one's own bookings.
// Drag over free time (or use "New booking") to book: a confirmation shows the rules and the
// expected price, with start and end editable so a booking can run over midnight or a weekend.
import { api, apiAll, state, h, clear, msg, errorText, toast, fmtTime, fmtMoney, field,
  fullCalendar, wallToMs, msToWall, wallParts, qs } from '../core.js';
import { t, lang } from '../i18n.js';
import { rulesList } from './public.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function businessHours(sh) {
  if (!sh) return { daysOfWeek: [0, 1, 2, 3, 4, 5, 6], startTime: '00:00', endTime: '24:00' };
  const out = [];
  DAYS.forEach((d, dow) => (sh[d] || []).forEach(([a, b]) => out.push({ daysOfWeek: [dow], startTime: a, endTime: b })));
  return out;
}

// Service windows of [from, to) as epoch-ms intervals, from the weekly schedule read in the
// platform's time zone.
function serviceWindows(sh, from, to) {
  const out = [];
  if (!sh) return [[from, to]];
  for (let day = from - 86400000; day < to + 86400000; day += 86400000) {
    const p = wallParts(day);
    const date = `${p.year}-${p.month}-${p.day}`;
    const key = p.weekday.toLowerCase().slice(0, 3);
    for (const [a, b] of sh[key] || []) {
      const s = wallToMs(`${date}T${a}`);
      const e = b === '24:00' ? wallToMs(`${date}T00:00`) + 86400000 : wallToMs(`${date}T${b}`);
      if (e > from && s < to) out.push([Math.max(s, from), Math.min(e, to)]);
    }
  }
  const seen = new Set();
  return out.filter(([s, e]) => { const k = s + ':' + e; if (seen.has(k)) return false; seen.add(k); return true; })
    .sort((x, y) => x[0] - y[0]);
}

function subtract(windows, holes) {
  let out = windows.map((w) => [...w]);
  for (const [hs, he] of holes) {
    const next = [];
    for (const [s, e] of out) {
      if (he <= s || hs >= e) { next.push([s, e]); continue; }
      if (hs > s) next.push([s, hs]);
      if (he < e) next.push([he, e]);
    }
    out = next;
  }
  return out.filter(([s, e]) => e > s);
}

function category(inst) {
  if (!state.me || state.me.org_id === inst.org_id) return 'internal';
  return state.me.org_type === 'enterprise' ? 'industry' : 'academic';
}

// The expected price of [start, end) on inst for the logged-in user, as the billing rules
// compute it for a booking (rate per hour by category, in increments, with a minimum).
export function expectedPrice(inst, startMs, endMs) {
  const b = inst.billing || {};
  const cat = category(inst);
  const rate = (b.rates || {})[cat];
  if (rate === undefined || rate === null || !(endMs > startMs)) return null;
  let minutes = Math.round((endMs - startMs) / 60000);
  const inc = b.increment_min || 1;
  minutes = Math.ceil(minutes / inc) * inc;
  if (b.minimum_min && minutes < b.minimum_min) minutes = b.minimum_min;
  return { cat, rate, minutes, amount: Math.round((rate * minutes) / 60), per_sample: b.per_sample || 0, basis: b.basis || 'booked' };
}

async function bookDialog(inst, startMs, endMs, onDone) {
  const out = h('div', { 'aria-live': 'assertive' });
  const price = h('p', { class: 'price', 'aria-live': 'polite' });
  const start = h('input', { type: 'datetime-local', name: 'start', value: msToWall(startMs), required: true, step: 60 });
  const end = h('input', { type: 'datetime-local', name: 'end', value: msToWall(endMs), required: true, step: 60 });
  const project = h('input', { type: 'text', name: 'project', maxlength: 200 });
  const showPrice = () => {
    const p = expectedPrice(inst, wallToMs(start.value), wallToMs(end.value));
    price.textContent = p
      ? t('expected_price', { amount: fmtMoney(p.amount), rate: fmtMoney(p.rate), minutes: p.minutes, cat: t('cat_' + p.cat) }) +
        (p.per_sample ? ' ' + t('plus_per_sample', { fee: fmtMoney(p.per_sample) }) : '') +
        (p.basis === 'metered' ? ' ' + t('metered_note') : '')
      : t('no_price');
  };
  start.addEventListener('input', showPrice);
  end.addEventListener('input', showPrice);
  showPrice();
  const dlg = h('dialog', { 'aria-labelledby': 'book-title', id: 'book-dialog' });
  const form = h('form', null,
    h('h2', { id: 'book-title' }, t('confirm_booking')),
    h('p', null, h('strong', null, inst.name), ' · ', t('times_in', { tz: state.platform.timezone })),
    field(t('start'), start), field(t('end'), end), field(t('project'), project),
    h('div', null, h('strong', null, t('rules')), h('ul', null, rulesList(inst.booking).map((r) => h('li', null, r)))),
    price, out,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', id: 'book-confirm' }, t('book')),
      h('button', { type: 'button', class: 'secondary', onclick: () => dlg.close() }, t('cancel'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const s = wallToMs(start.value), en = wallToMs(end.value);
    if (!(en > s)) { clear(out, msg('error', t('end_after_start'))); return; }
    const body = { instrument: inst.id, start: new Date(s).toISOString(), end: new Date(en).toISOString() };
    if (project.value.trim()) body.project = project.value.trim();
    try {
      const b = await api('/bookings', { method: 'POST', body });
      dlg.close();
      toast('success', b.status === 'pending' ? t('booked_pending', { id: b.id }) : t('booked_confirmed', { id: b.id }));
      onDone();
    } catch (err) {
      clear(out, msg('error', errorText(err)));
      if (err.status === 409) onDone();
    }
  });
  dlg.append(form);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

// The first free hour (or less, if the gap is shorter) from the next whole slot on, for the
// "New booking" button; the next hour when nothing is free in the coming two weeks.
async function firstFree(inst) {
  const slot = ((inst.booking && inst.booking.slot_minutes) || 15) * 60000;
  const notice = ((inst.booking && inst.booking.min_notice_minutes) || 0) * 60000;
  const from = Math.ceil((Date.now() + notice) / slot) * slot;
  try {
    const avail = await api(`/instruments/${encodeURIComponent(inst.id)}/availability` +
      qs({ from: new Date(from).toISOString(), to: new Date(from + 14 * 86400000).toISOString() }));
    for (const f of avail.items) {
      const s = Math.ceil(Math.max(Date.parse(f.start), from) / slot) * slot;
      const e = Math.min(Date.parse(f.end), s + 3600000);
      if (e - s >= slot) return [s, e];
    }
  } catch (e) { /* fall back to the next hour */ }
  const s = Math.ceil(Date.now() / 3600000) * 3600000 + 3600000;
  return [s, s + 3600000];
}

async function events(inst, info) {
  const from = info.start.getTime(), to = info.end.getTime();
  const range = qs({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  const [avail, outages, mine] = await Promise.all([
    api(`/instruments/${encodeURIComponent(inst.id)}/availability${range}`),
    api(`/instruments/${encodeURIComponent(inst.id)}/outages${range}`).catch(() => ({ items: [] })),
    apiAll(`/bookings${qs({ instrument: inst.id, from: new Date(from).toISOString(), to: new Date(to).toISOString() })}`),
  ]);
  // free time is what can still be booked: none in the past
  const now = Date.now();
  const free = avail.items.map((f) => [Math.max(Date.parse(f.start), now), Date.parse(f.end)]).filter(([s, e]) => e > s);
  const outs = outages.items.map((o) => [Date.parse(o.start), Date.parse(o.end)]);
  const own = mine.filter((b) => b.status === 'pending' || b.status === 'confirmed' || b.status === 'completed');
  const ownIv = own.map((b) => [Date.parse(b.start), Date.parse(b.end)]);
  // what is neither free, out of service nor mine is booked by others (from now on: the past
  // is not offered)
  const booked = from < to ? subtract(serviceWindows(inst.service_hours, Math.max(from, now), Math.max(to, now)), [...free, ...outs, ...ownIv]) : [];
  const ev = [];
  for (const [s, e] of free) ev.push({ start: s, end: e, display: 'background', className: 'fc-ev-free', title: t('free') });
  for (const [s, e] of booked) ev.push({ start: s, end: e, display: 'background', className: 'fc-ev-booked', title: t('booked_by_others') });
  for (const o of outages.items) ev.push({ start: o.start, end: o.end, display: 'background', className: 'fc-ev-outage', title: t('outage') + (o.note ? ': ' + o.note : '') });
  for (const b of own) {
    const who = b.user_id === state.me.id ? '' : ` · ${(b.requester && b.requester.display_name) || ''}`;
    ev.push({ id: String(b.id), start: b.start, end: b.end, title: `#${b.id} ${t('status_' + b.status)}${who}`,
      className: 'fc-ev-mine', color: b.status === 'pending' ? '#6b8fc7' : '#1d4f91' });
  }
  return ev;
}

export async function calendar(view, params) {
  const all = await apiAll('/instruments');
  const ids = (params.get('ids') || '').split(',').filter(Boolean);
  const chosen = all.filter((i) => ids.includes(i.id));
  if (!chosen.length && all.length) chosen.push(all[0]);
  const FC = await fullCalendar();
  const pick = h('fieldset', null, h('legend', null, t('instruments_shown')),
    h('div', { class: 'pick' }, all.map((i) => h('label', null,
      h('input', { type: 'checkbox', name: 'ids', value: i.id, checked: chosen.includes(i) }), i.name))));
  pick.addEventListener('change', () => {
    const v = [...pick.querySelectorAll('input:checked')].map((x) => x.value);
    location.hash = '#/calendar' + qs({ ids: v.join(','), date: params.get('date') });
  });
  const boxes = h('div', { class: 'calendars' });
  clear(view, h('h1', null, t('calendar_title')),
    h('p', { class: 'lead' }, t('calendar_lead', { tz: state.platform.timezone })), pick,
    h('div', { class: 'legend' }, h('span', { class: 'l-free' }, t('free')), h('span', { class: 'l-booked' }, t('booked_by_others')),
      h('span', { class: 'l-outage' }, t('outage')), h('span', { class: 'l-closed' }, t('outside_hours')),
      h('span', { class: 'l-mine' }, t('my_bookings'))), boxes);
  const narrow = window.matchMedia('(max-width: 720px)').matches;
  for (const inst of chosen) {
    const el = h('div', { class: 'fc-host', 'data-instrument': inst.id });
    const box = h('section', { class: 'calendar-box', 'aria-label': inst.name },
      h('h2', null, inst.name),
      h('p', null, h('button', { type: 'button', class: 'secondary', 'data-new-booking': inst.id,
        onclick: async () => {
          const [s, e] = await firstFree(inst);
          bookDialog(inst, s, e, () => cal.refetchEvents());
        } }, t('new_booking'))), el);
    boxes.append(box);
    const cal = new FC.Calendar(el, {
      initialView: narrow || chosen.length > 2 ? 'timeGridDay' : 'timeGridWeek',
      initialDate: /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') || '') ? params.get('date') : undefined,
      timeZone: state.platform.timezone,
      locale: lang() === 'zh' ? 'zh-cn' : 'en-gb',
      firstDay: 1,
      // the button's name must contain its visible text ("Today", not "This week")
      todayHint: () => (lang() === 'zh' ? '今天' : 'Today'),
      height: 'auto',
      allDaySlot: false,
      nowIndicator: true,
      selectable: true,
      selectMirror: true,
      slotMinTime: '06:00:00',
      slotMaxTime: '22:00:00',
      headerToolbar: { start: 'prev,next today', center: 'title', end: 'timeGridWeek,timeGridDay' },
      businessHours: businessHours(inst.service_hours),
      events: (info, ok, fail) => events(inst, info).then(ok, (e) => { fail(e); toast('error', errorText(e)); }),
      select: (info) => bookDialog(inst, info.start.getTime(), info.end.getTime(), () => cal.refetchEvents()),
      eventClick: (info) => { if (info.event.id) location.hash = '#/bookings?highlight=' + info.event.id; },
    });
    view.calendars = (view.calendars || []).concat(cal);
    requestAnimationFrame(() => cal.render());
  }
  if (!chosen.length) view.append(msg('info', t('no_instruments')));
}
