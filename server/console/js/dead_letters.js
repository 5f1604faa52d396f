// Dead letters: the event deliveries given up after every retry, each retried on request.

export class DeadLetters {
  constructor(connection, { table, refresh, status }) {
    Object.assign(this, { connection, body: table.tBodies[0], status });
    refresh.addEventListener('click', () => this.load());
  }

  async load() {
    const reply = await this.connection.fetch('/dead-letters').catch(() => null);
    if (!reply) {
      this.status.textContent = 'GET /dead-letters: the server is unreachable';
      return;
    }
    if (!reply.ok) {
      this.status.textContent = `GET /dead-letters: ${reply.status}`;
      return;
    }
    const letters = await reply.json();
    this.status.textContent = letters.length === 0 ? 'none' : `${letters.length} kept`;
    this.body.replaceChildren(...letters.map((letter) => this.#row(letter)));
  }

  #row(letter) {
    const row = this.body.insertRow();
    for (const text of [letter.id, letter.handler, `${letter.message.name} ${letter.message.aggregate}`, letter.error]) {
      row.insertCell().textContent = text;
    }
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'small-button';
    retry.textContent = 'Retry';
    retry.addEventListener('click', async () => {
      retry.disabled = true;
      const reply = await this.connection.fetch(`/dead-letters/${encodeURIComponent(letter.id)}/retry`, { method: 'POST' }).catch(() => null);
      const outcome = reply ? await reply.json().catch(() => ({})) : {};
      this.status.textContent = `retry of ${letter.id}: ${reply ? reply.status : 'the server is unreachable'} ${outcome.status ?? outcome.code ?? ''}`;
      await this.load();
    });
    row.insertCell().append(retry);
    return row;
  }
}
