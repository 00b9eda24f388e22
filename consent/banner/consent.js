/*! Garde consent banner. Served by Garde at /consent.js; no dependencies, no
 * requests except to the Garde that served it. Use:
 *   <script src="https://garde.example/consent.js" data-write-key="KEY" [data-lang="fr"]></script>
 * Any element with data-garde-consent-open reopens it; without one, a small
 * "Cookie settings" button does. window.gardeConsent.open() does too; a
 * "garde:consent" event on window carries the choices. */
(function (C) {
  'use strict';
  var d = document, w = window, nav = navigator;
  if (w.gardeConsent || !C.purposes.length) return; // nothing to ask
  var me = d.currentScript || d.querySelector('script[data-write-key][src*="consent.js"]');
  if (!me) return;
  var key = me.getAttribute('data-write-key') || '';
  var api = new URL(me.src, location.href).origin;
  var lang = (me.getAttribute('data-lang') || d.documentElement.getAttribute('data-garde-lang') || nav.language || 'en').slice(0, 2).toLowerCase();
  if (!C.text[lang]) lang = 'en';
  var T = C.text[lang];
  var gpc = nav.globalPrivacyControl === true;
  var STORE = 'garde_consent';
  var DAY = 864e5;

  // storage: localStorage may be missing or throw (private modes)
  function ls(k, v) {
    try {
      if (v === undefined) return w.localStorage.getItem(k);
      w.localStorage.setItem(k, v);
    } catch (e) { /* no storage: the banner asks again next time */ }
    return null;
  }
  function cookie(n) {
    var m = d.cookie.match(new RegExp('(?:^|; )' + n + '=([^;]*)'));
    if (!m) return '';
    try { return decodeURIComponent(m[1]); } catch (e) { return m[1]; }
  }
  // unquote reads a value Segment or RudderStack stored as JSON ("\"id\"").
  function unquote(v) {
    if (!v || v.indexOf('RS_ENC') === 0) return '';
    try {
      var j = JSON.parse(v);
      return typeof j === 'string' ? j : (typeof j === 'number' ? String(j) : '');
    } catch (e) { return v; }
  }
  function uuid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    c.getRandomValues(b);
    b[6] = b[6] & 15 | 64;
    b[8] = b[8] & 63 | 128;
    var h = '';
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
    return h;
  }
  // the visitor's anonymous id: the analytics SDK's when there is one
  var known = true;
  var anonId = unquote(ls('ajs_anonymous_id')) || unquote(cookie('ajs_anonymous_id')) ||
    unquote(ls('rl_anonymous_id')) || unquote(cookie('rl_anonymous_id'));
  if (!anonId) {
    known = false;
    anonId = uuid();
    ls('ajs_anonymous_id', JSON.stringify(anonId));
  }
  var userId = unquote(ls('ajs_user_id')) || unquote(cookie('ajs_user_id'));
  var auth = 'Basic ' + btoa(key + ':');

  function same(a, b) { return a && a.length === b.length && a.every(function (x, i) { return x === b[i]; }); }
  // saved returns the stored decision while it holds for this notice
  function saved(any) {
    var s;
    try { s = JSON.parse(ls(STORE)); } catch (e) { return null; }
    if (!s || s.version !== C.version || !same(s.purposes, C.purposes)) return null;
    return any || Date.now() < s.until ? s : null;
  }
  // until: the earliest of the given consents' expiry and the refusals'
  // "ask again" dates, from the state Garde answered
  function until(state) {
    var t = Infinity;
    ((state && state.purposes) || []).forEach(function (p) {
      if (C.purposes.indexOf(p.purpose) < 0) return;
      var at = p.decision === 'given' ? p.expires : (p.decision === 'refused' || p.decision === 'withdrawn' ? p.askAfter : '');
      var v = at ? Date.parse(at) : NaN;
      if (v < t) t = v;
    });
    return t === Infinity ? Date.now() + 182 * DAY : t;
  }
  function announce(choices) {
    try { w.dispatchEvent(new CustomEvent('garde:consent', { detail: { choices: choices } })); } catch (e) { /* old browser */ }
  }
  function keep(choices, a, pending) {
    var s = { version: C.version, purposes: C.purposes, choices: choices, at: Date.now(), pending: !!pending,
      receiptId: a ? a.receiptId : null, receipt: a ? a.receipt : null, until: a ? until(a.state) : Date.now() + DAY };
    ls(STORE, JSON.stringify(s));
    announce(choices);
  }
  function call(method, path, body) {
    var o = { method: method, headers: { Authorization: auth }, credentials: 'omit', mode: 'cors' };
    if (body) {
      o.headers['Content-Type'] = 'application/json';
      o.body = JSON.stringify(body);
      o.keepalive = true;
    }
    return fetch(api + path, o).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }
  function post(choices) {
    var b = { anonymousId: anonId, decisions: choices, source: 'banner', notice: { version: C.version, hash: T.hash, language: lang } };
    if (userId) b.userId = userId;
    return call('POST', '/v1/consent', b).then(function (a) { keep(choices, a); }, function () { keep(choices, null, true); });
  }
  // decide records one decision per purpose: given for those on; refused,
  // or withdrawn where a consent had been given, for the others; opted_out
  // for the sale and sharing purposes under Global Privacy Control.
  function decide(on) {
    var prev = (saved(true) || {}).choices || {}, dec = {};
    C.purposes.forEach(function (k) { dec[k] = on[k] ? 'given' : (prev[k] === 'given' ? 'withdrawn' : 'refused'); });
    if (gpc) C.sale.forEach(function (k) { dec[k] = 'opted_out'; });
    hide();
    return post(dec);
  }

  // ---- the dialog ----
  var CSS = ':host{all:initial}' +
    '.box{position:fixed;z-index:2147483647;left:50%;bottom:16px;transform:translateX(-50%);box-sizing:border-box;width:calc(100% - 32px);max-width:560px;max-height:calc(100vh - 32px);overflow:auto;' +
    'background:#fff;color:#111827;border:1px solid #6b7280;border-radius:8px;box-shadow:0 4px 24px rgba(0,0,0,.25);padding:20px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}' +
    '.wall{position:fixed;top:0;right:0;bottom:0;left:0;z-index:2147483646;background:rgba(17,24,39,.6)}' +
    'h2{margin:0 32px 8px 0;font-size:18px;font-weight:700}p{margin:0 0 8px}ul{list-style:none;margin:8px 0 12px;padding:0}' +
    'li{border-top:1px solid #e5e7eb;padding:8px 0}.row{display:flex;align-items:center;justify-content:space-between;gap:12px}' +
    '.d{font-size:14px;color:#374151;margin:2px 0 0}.g{font-size:13px;color:#92400e;margin:2px 0 0}' +
    '.btns{display:grid;grid-template-columns:1fr 1fr;gap:8px;margin-top:8px}.one{grid-template-columns:1fr}' +
    '.garde-btn{box-sizing:border-box;width:100%;min-height:44px;margin:0;padding:10px 16px;border:2px solid currentColor;border-radius:6px;font:inherit;font-size:15px;font-weight:600;line-height:1.2;cursor:pointer}' +
    '.more{display:grid;margin-top:8px}.alt{box-sizing:border-box;min-height:44px;padding:8px 16px;border:2px solid currentColor;border-radius:6px;font:inherit;font-size:15px;font-weight:600;cursor:pointer}' +
    '.x{position:absolute;top:8px;right:8px;width:36px;height:36px;border:0;border-radius:6px;background:transparent;color:#111827;font:24px/1 system-ui,sans-serif;cursor:pointer}' +
    'input{appearance:none;-webkit-appearance:none;flex:none;position:relative;width:44px;height:24px;margin:0;border-radius:12px;background:#6b7280;cursor:pointer;transition:background .15s}' +
    'input::before{content:"";position:absolute;top:3px;left:3px;width:18px;height:18px;border-radius:50%;background:#fff;transition:transform .15s}' +
    'input:checked{background:#1d4ed8}input:checked::before{transform:translateX(20px)}input:disabled{opacity:.5;cursor:not-allowed}' +
    'button:focus-visible,input:focus-visible,.box:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}' +
    '[hidden]{display:none!important}' +
    '.fab{position:fixed;z-index:2147483645;left:12px;bottom:12px;padding:6px 10px;border:1px solid #6b7280;border-radius:6px;background:#fff;color:#111827;font:13px/1.2 system-ui,sans-serif;cursor:pointer}' +
    '@media (prefers-reduced-motion:reduce){input,input::before{transition:none}}';

  function el(tag, attrs, kids) {
    var e = d.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k]; else if (attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    });
    (kids || []).forEach(function (k) { if (k) e.appendChild(k); });
    return e;
  }
  function paint(b, s) { b.style.color = s.colour; b.style.backgroundColor = s.background; return b; }

  var host, root, box, wall, inputs = [], save, custom, fab, opener, reopened = false, shown = false;

  function build() {
    host = el('div', { id: 'garde-consent' });
    root = host.attachShadow({ mode: 'open' });
    // a constructed style sheet passes a strict style-src CSP; <style> is the fallback
    if (root.adoptedStyleSheets && w.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else root.appendChild(el('style', { text: CSS }));
    var list = el('ul');
    C.switches.forEach(function (keys, i) {
      var sale = gpc && keys.some(function (k) { return C.sale.indexOf(k) >= 0; });
      var names = [], li = el('li');
      var input = el('input', { type: 'checkbox', role: 'switch', id: 'gc-s' + i, disabled: sale, hidden: true });
      input.keys = keys;
      inputs.push(input);
      keys.forEach(function (k, j) {
        var p = T.purposes[k], id = 'gc-p' + i + '-' + j;
        names.push(id);
        var name = el('strong', { id: id, 'data-notice': true, text: p.name });
        li.appendChild(j === 0 ? el('div', { 'class': 'row' }, [name, input]) : el('div', { 'class': 'row' }, [name]));
        li.appendChild(el('p', { 'class': 'd', id: id + 'd', 'data-notice': true, text: p.description }));
      });
      if (sale) li.appendChild(el('p', { 'class': 'g', text: T.gpc }));
      input.setAttribute('aria-labelledby', names.join(' '));
      input.setAttribute('aria-describedby', names.map(function (n) { return n + 'd'; }).join(' '));
      list.appendChild(li);
    });
    var accept = paint(el('button', { type: 'button', 'class': 'garde-btn', 'data-garde': 'accept', text: T.accept }), C.buttons.accept);
    var refuse = paint(el('button', { type: 'button', 'class': 'garde-btn', 'data-garde': 'refuse', text: T.refuse, hidden: !C.refuseOnFirstLayer }), C.buttons.refuse);
    custom = paint(el('button', { type: 'button', 'class': 'alt', 'data-garde': 'customise', text: T.customise }), C.buttons.customise);
    save = paint(el('button', { type: 'button', 'class': 'alt', 'data-garde': 'save', text: T.save, hidden: true }), C.buttons.customise);
    var x = C.consentWall ? null : el('button', { type: 'button', 'class': 'x', 'data-garde': 'close', 'aria-label': T.close, title: T.close, text: '\u00d7' });
    box = el('div', { 'class': 'box', role: 'dialog', 'aria-modal': C.consentWall ? 'true' : 'false', 'aria-labelledby': 'gc-t', 'aria-describedby': 'gc-i', tabindex: '-1', lang: lang }, [
      x,
      el('h2', { id: 'gc-t', 'data-notice': true, text: T.title }),
      el('p', { id: 'gc-i', 'data-notice': true, text: T.intro }),
      list,
      el('div', { 'class': C.refuseOnFirstLayer ? 'btns' : 'btns one' }, C.refuseOnFirstLayer ? [refuse, accept] : [accept]),
      el('div', { 'class': 'more' }, [custom, save])
    ]);
    if (C.consentWall) root.appendChild(wall = el('div', { 'class': 'wall' }));
    root.appendChild(box);
    box.hidden = true;
    if (wall) wall.hidden = true;
    if (!d.querySelector('[data-garde-consent-open]')) {
      fab = el('button', { type: 'button', 'class': 'fab', 'data-garde-consent-open': true, text: T.settings, hidden: true });
      fab.addEventListener('click', function () { show(true); });
      root.appendChild(fab);
    }
    box.addEventListener('click', function (e) {
      var t = e.target.closest && e.target.closest('[data-garde]');
      if (!t) return;
      var act = t.getAttribute('data-garde'), on = {};
      if (act === 'customise') return customise(true);
      if (act === 'close') return close();
      inputs.forEach(function (i) {
        i.keys.forEach(function (k) { on[k] = act === 'accept' ? !i.disabled : act === 'save' && i.checked; });
      });
      if (act === 'accept' || act === 'refuse' || act === 'save') decide(on);
    });
    root.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && shown) { e.preventDefault(); close(); }
      if (e.key === 'Tab' && C.consentWall && shown) trap(e);
    });
    d.body.appendChild(host);
  }
  function trap(e) {
    var f = Array.prototype.filter.call(box.querySelectorAll('button,input'), function (b) { return !b.hidden && !b.disabled; });
    var first = f[0], last = f[f.length - 1], a = root.activeElement;
    if (e.shiftKey ? (a === first || a === box) : a === last) { e.preventDefault(); (e.shiftKey ? last : first).focus(); }
  }
  function customise(on) {
    inputs.forEach(function (i) { i.hidden = !on; });
    custom.hidden = on;
    save.hidden = !on;
    if (on && inputs[0]) inputs[0].focus();
  }
  function show(again) {
    if (!host) build();
    var s = saved(true);
    reopened = !!(again && s);
    inputs.forEach(function (i) {
      i.checked = !i.disabled && i.keys.every(function (k) {
        return reopened ? s.choices[k] === 'given' : C.preChecked.indexOf(k) >= 0;
      });
    });
    customise(!!again);
    opener = d.activeElement;
    box.hidden = false;
    if (wall) wall.hidden = false;
    if (fab) fab.hidden = true;
    shown = true;
    box.focus();
  }
  function hide() {
    if (!box) return;
    box.hidden = true;
    if (wall) wall.hidden = true;
    if (fab) fab.hidden = false;
    shown = false;
    if (opener && opener !== d.body && opener.focus && d.contains(opener)) opener.focus();
  }
  // close: on a first showing, closing refuses (silence is refusal);
  // reopened over a stored choice, it keeps that choice.
  function close() {
    if (!reopened && C.closeRefuses) decide({}); else hide();
  }
  // keydown on the page (focus outside the dialog) closes it with Escape too
  d.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && shown && !e.defaultPrevented) close();
  });
  d.addEventListener('click', function (e) {
    var t = e.target.closest && e.target.closest('[data-garde-consent-open]');
    if (t) { e.preventDefault(); show(true); }
  });

  function start() {
    if (!host) build();
    var s = saved(false);
    if (s) {
      if (s.pending) post(s.choices);
      if (fab) fab.hidden = false;
      return announce(s.choices);
    }
    if (!known && !userId) return show(false);
    // a visitor Garde may know: ask it before asking them
    var q = '/v1/consent?anonymousId=' + encodeURIComponent(anonId) + (userId ? '&userId=' + encodeURIComponent(userId) : '');
    call('GET', q).then(function (state) {
      var choices = {}, now = Date.now(), all = C.purposes.every(function (k) {
        var p = (state.purposes || []).filter(function (x) { return x.purpose === k; })[0];
        if (!p || !p.decision) return false;
        choices[k] = p.decision;
        var t = p.decision === 'given' ? p.expires : p.askAfter;
        return p.decision === 'opted_out' || (p.decision !== 'expired' && !!t && Date.parse(t) > now);
      });
      if (!all) return show(false);
      keep(choices, { state: state });
      if (fab) fab.hidden = false;
    }, function () { show(false); });
  }

  w.gardeConsent = {
    open: function () { show(true); },
    choices: function () { var s = saved(true); return s ? s.choices : null; }
  };
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start); else start();
})(__GARDE_CONFIG__);
