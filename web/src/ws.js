// ws: the websocket client (SPEC §3). One connection per tab; topics are reference-counted
// so several views can subscribe to the same topic; subscriptions are replayed after a
// reconnect (with backoff). Listeners get every parsed message of their topic.
import { getToken } from './api.js';

const topics = new Map(); // topic -> Set<listener>
const statusListeners = new Set();
let sock = null;
let status = 'closed';
let retry = 0;
let timer = null;

function setStatus(s) { status = s; statusListeners.forEach((f) => f(s)); }
export function wsStatus() { return status; }
export function onWsStatus(fn) { statusListeners.add(fn); fn(status); return () => statusListeners.delete(fn); }

function url() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const tok = getToken();
  return `${proto}//${location.host}/ws${tok ? `?token=${encodeURIComponent(tok)}` : ''}`;
}

function send(obj) { if (sock && sock.readyState === 1) sock.send(JSON.stringify(obj)); }

function connect() {
  if (sock || typeof WebSocket === 'undefined') return;
  clearTimeout(timer);
  setStatus('connecting');
  let s;
  try { s = new WebSocket(url()); } catch { schedule(); return; }
  sock = s;
  s.onopen = () => {
    retry = 0;
    setStatus('open');
    for (const t of topics.keys()) send({ op: 'subscribe', topic: t });
  };
  s.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    const ls = topics.get(msg.topic);
    if (ls) ls.forEach((f) => { try { f(msg); } catch (e) { console.error(e); } });
    const all = topics.get('*');
    if (all) all.forEach((f) => f(msg));
  };
  s.onclose = () => { if (sock === s) { sock = null; setStatus('closed'); schedule(); } };
  s.onerror = () => { /* onclose follows */ };
}

function schedule() {
  if (![...topics.keys()].length) return;
  clearTimeout(timer);
  const ms = Math.min(15000, 500 * 2 ** retry++);
  timer = setTimeout(connect, ms);
}

/* Subscribe to a topic; returns the unsubscribe function. */
export function subscribe(topic, fn) {
  let ls = topics.get(topic);
  if (!ls) {
    ls = new Set();
    topics.set(topic, ls);
    if (topic !== '*') send({ op: 'subscribe', topic });
  }
  ls.add(fn);
  connect();
  return () => {
    ls.delete(fn);
    if (!ls.size) {
      topics.delete(topic);
      if (topic !== '*') send({ op: 'unsubscribe', topic });
    }
  };
}

export function disconnect() {
  clearTimeout(timer);
  if (sock) { const s = sock; sock = null; s.close(); }
  setStatus('closed');
}
