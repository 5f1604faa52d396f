// The live feed: one subscription, filtered by name and aggregate, at most CAP lines. Paused, it
// holds what arrives (up to CAP, the newest) and shows it on resume.

const CAP = 500;

/** "A, B ,C" -> ["A", "B", "C"]; empty means "any". */
function listOf(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

export class LiveFeed {
  #subscription = null;
  #paused = false;
  #held = [];     // frames that arrived while paused, oldest first
  #overflow = 0;  // of those, how many were let go to keep CAP

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
      this.#held.push(frame);
      if (this.#held.length > CAP) {
        this.#held.shift();
        this.#overflow += 1;
      }
      this.pause.textContent = `Resume (${this.#held.length + this.#overflow} new)`;
      return;
    }
    this.#show(frame);
  }

  #show({ seq, event }) {
    const line = document.createElement('li');
    line.textContent = `#${seq} ${event.name} ${event.aggregate} ${JSON.stringify(event.data)}`;
    line.title = line.textContent;
    this.list.prepend(line);
    while (this.list.children.length > CAP) this.list.lastElementChild.remove();
  }

  #togglePause() {
    this.#paused = !this.#paused;
    this.pause.setAttribute('aria-pressed', String(this.#paused));
    this.pause.textContent = this.#paused ? 'Resume' : 'Pause';
    if (this.#paused) return;
    if (this.#overflow > 0) this.status.textContent = `${this.#overflow} events arrived past ${CAP} while paused and are not shown`;
    for (const frame of this.#held) this.#show(frame);
    this.#held = [];
    this.#overflow = 0;
  }
}
