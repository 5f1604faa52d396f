// The live feed: one subscription, filtered by name and aggregate, pausable, at most CAP lines.

const CAP = 500;

/** "A, B ,C" -> ["A", "B", "C"]; empty means "any". */
function listOf(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

export class LiveFeed {
  #subscription = null;
  #paused = false;
  #missed = 0;

  constructor(connection, { form, names, aggregates, subscribe, pause, clear, list, status }) {
    Object.assign(this, { connection, names, aggregates, subscribe, pause, list, status });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.start();
    });
    pause.addEventListener('click', () => this.#togglePause());
    clear.addEventListener('click', () => list.replaceChildren());
    connection.addEventListener('feed', (e) => this.#receive(e.detail));
    connection.addEventListener('state', (e) => {
      subscribe.disabled = e.detail.state !== 'connected';
      if (e.detail.state === 'connected') this.start();
      else this.#subscription = null;
    });
  }

  /** (Re)subscribes with the filters in the form. */
  start() {
    if (this.#subscription) this.connection.request({ type: 'unsubscribe', sub: this.#subscription });
    const frame = { type: 'subscribe', names: listOf(this.names.value), aggregates: listOf(this.aggregates.value) };
    this.status.textContent = 'subscribing…';
    const id = this.connection.request(frame, (answer) => this.#answered(id, frame, answer));
    this.#subscription = id;
  }

  #answered(id, frame, answer) {
    if (id !== this.#subscription) return;  // an answer to a subscription since replaced
    if (answer.type === 'error') {
      this.#subscription = null;
      this.status.textContent = `${answer.code}: ${answer.message}`;
      return;
    }
    const names = answer.names ? answer.names.join(', ') : 'every name';
    const aggregates = frame.aggregates.length ? ` on ${frame.aggregates.join(', ')}` : '';
    this.status.textContent = `subscribed to ${names}${aggregates}`;
  }

  #receive(frame) {
    if (frame.sub !== this.#subscription) return;
    if (this.#paused) {
      this.#missed += 1;
      this.pause.textContent = `Resume (${this.#missed} new)`;
      return;
    }
    const { event } = frame;
    const line = document.createElement('li');
    line.textContent = `#${frame.seq} ${event.name} ${event.aggregate} ${JSON.stringify(event.data)}`;
    line.title = line.textContent;
    this.list.prepend(line);
    while (this.list.children.length > CAP) this.list.lastElementChild.remove();
  }

  #togglePause() {
    this.#paused = !this.#paused;
    this.#missed = 0;
    this.pause.setAttribute('aria-pressed', String(this.#paused));
    this.pause.textContent = this.#paused ? 'Resume' : 'Pause';
  }
}
