// One submitted cascade, drawn as its frames stream in: the submitted message at the root, each
// event under the message that raised it (causation_id), then the cascade's outcome.

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class CascadeView {
  #nodes = new Map();  // message id -> its <li>
  #pending = [];        // events whose cause has not been drawn yet
  #handlerOf;

  /** `handlerOf(handler name)` gives the message name a handler handles (from the catalog). */
  constructor(list, { name, aggregate, data }, handlerOf) {
    this.#handlerOf = handlerOf;
    this.root = element('li', 'cascade');
    const header = element('header');
    this.status = element('span', 'status-badge', 'sent');
    header.append(this.status, element('strong', '', name), element('span', 'muted small', aggregate ? `aggregate ${aggregate}` : ''));
    this.tree = element('ul', 'tree');
    this.outcome = element('div', 'outcome');
    this.root.append(header, this.tree, this.outcome);
    this.submitted = { name, aggregate, data };
    list.prepend(this.root);
  }

  /** Feeds one frame answering the submit. */
  receive(frame) {
    switch (frame.type) {
      case 'ack':
        this.#setStatus('running', 'running');
        this.#draw({ id: frame.message_id, name: this.submitted.name, aggregate: this.submitted.aggregate, depth: 0, causation_id: null });
        if (frame.replay) this.outcome.append(element('span', 'muted', 'replayed: this id was known, nothing ran again'));
        break;
      case 'event':
        this.#draw(frame.event);
        break;
      case 'done':
        this.#finish(frame);
        break;
      case 'error':
        if (frame.code === 'disconnected') {
          // Sent, so perhaps accepted and run: the server knows, this page does not.
          this.#setStatus('unknown', 'unknown');
          this.outcome.append(element('span', 'error', 'the connection closed before the outcome: it may have run; a durable server tells it under its id (GET /messages/{id})'));
          break;
        }
        this.#setStatus('refused', 'refused');
        this.outcome.append(element('span', 'error', `${frame.code}: ${frame.message}`));
        break;
    }
  }

  #draw(message) {
    const parent = message.causation_id === null ? this.tree : this.#nodes.get(message.causation_id)?.querySelector(':scope > ul');
    if (!parent) {
      this.#pending.push(message);
      return;
    }
    const node = element('li', 'node');
    node.dataset.name = message.name;
    node.append(element('span', 'name', message.name),
                element('span', 'meta', `depth ${message.depth} · ${message.aggregate}${message.orphan ? ' · its cause was not streamed' : ''}`),
                element('ul'));
    parent.append(node);
    this.#nodes.set(message.id, node);
    const waiting = this.#pending.filter((m) => m.causation_id === message.id);
    this.#pending = this.#pending.filter((m) => m.causation_id !== message.id);
    waiting.forEach((m) => this.#draw(m));
  }

  #finish(done) {
    this.#setStatus(done.status, done.status);
    // Events whose cause never came (it was dropped, say) are drawn at the top, marked so.
    const orphans = this.#pending;
    const waiting = new Set(orphans.map((m) => m.id));
    this.#pending = orphans.filter((m) => waiting.has(m.causation_id));  // drawn under their orphaned cause
    for (const orphan of orphans.filter((m) => !waiting.has(m.causation_id))) {
      this.#draw({ ...orphan, causation_id: null, orphan: true });
    }
    const summary = [`${done.events} event${done.events === 1 ? '' : 's'}`];
    if (done.result !== null && done.result !== undefined) summary.unshift(`result ${JSON.stringify(done.result)}`);
    if (done.dropped) summary.push(`${done.dropped} dropped`);
    const lines = [element('span', '', summary.join(' · '))];
    for (const error of done.errors) {
      lines.push(element('span', 'error', `${error.handler || 'bus'}: ${error.code}: ${error.message}`));
      // Mark the messages of the failing handler's type.
      const failed = this.#handlerOf(error.handler);
      for (const node of this.#nodes.values()) {
        if (node.dataset.name === failed) node.classList.add('failed');
      }
    }
    this.outcome.append(...lines);
  }

  #setStatus(text, kind) {
    this.status.textContent = text;
    this.status.className = `status-badge ${kind}`;
  }
}
