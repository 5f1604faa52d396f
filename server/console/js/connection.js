// One WebSocket session with cascade-server (protocol v1): requests carry ids, and every frame
// that answers one ("re") goes to whoever sent it; subscription frames ("sub") go to the feed.

/** Frames after which a request has its answer: nothing more comes under its id. */
const FINAL = new Set(['done', 'error', 'subscribed', 'unsubscribed', 'catalog', 'pong']);

/** A prefix no other console tab or earlier run shares: on a durable server ids are idempotency keys. */
function sessionPrefix() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return 'console-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Connection extends EventTarget {
  #socket = null;
  #answers = new Map();
  #prefix = sessionPrefix();
  #counter = 0;
  welcome = null;
  token = '';

  /** "connecting", "connected" or "disconnected". */
  state = 'disconnected';

  connect(token) {
    this.token = token;
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (token) url.searchParams.set('token', token);
    const socket = new WebSocket(url);
    this.#socket = socket;
    this.#setState('connecting');
    socket.addEventListener('message', (e) => this.#receive(JSON.parse(e.data)));
    socket.addEventListener('close', (e) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.welcome = null;
      for (const answer of this.#answers.values()) answer({ type: 'error', code: 'disconnected', message: 'the connection closed' });
      this.#answers.clear();
      this.#setState('disconnected', e.code === 1000 || e.code === 1005 ? '' : `closed ${e.code} ${e.reason}`.trim());
    });
  }

  disconnect() {
    this.#socket?.close(1000);
  }

  /** Sends `frame` with a fresh id; `onAnswer` gets each frame answering it. Returns the id. */
  request(frame, onAnswer = () => {}) {
    if (this.state !== 'connected') throw new Error('not connected');
    const id = `${this.#prefix}-${++this.#counter}`;
    this.#answers.set(id, onAnswer);
    this.#socket.send(JSON.stringify({ ...frame, id }));
    return id;
  }

  /** request() for a request with one answer, as a promise. */
  ask(frame) {
    return new Promise((resolve) => this.request(frame, resolve));
  }

  /** HTTP on the same server, with the session's token. */
  fetch(path, init = {}) {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('Authorization', `Bearer ${this.token}`);
    return fetch(path, { ...init, headers });
  }

  #receive(frame) {
    if (frame.type === 'welcome') {
      this.welcome = frame;
      this.#setState('connected');
    } else if (frame.sub !== undefined && frame.type === 'event') {
      this.dispatchEvent(new CustomEvent('feed', { detail: frame }));
    } else if (frame.re !== undefined && this.#answers.has(frame.re)) {
      this.#answers.get(frame.re)(frame);
      if (FINAL.has(frame.type)) this.#answers.delete(frame.re);
    } else {
      this.dispatchEvent(new CustomEvent('notice', { detail: frame }));
    }
  }

  #setState(state, why = '') {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, why } }));
  }
}
