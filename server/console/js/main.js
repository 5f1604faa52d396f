// The console's wiring: the connection, the catalog it loads, and the panels that use them.
import { CascadeView } from './cascade_view.js';
import { Connection } from './connection.js';
import { DeadLetters } from './dead_letters.js';
import { LiveFeed } from './live_feed.js';
import { MetricsPanel } from './metrics_panel.js';
import { SchemaForm } from './schema_form.js';

const $ = (id) => document.getElementById(id);
const connection = new Connection();
const form = new SchemaForm({ form: $('submit-form'), select: $('message-name'), fields: $('fields'), info: $('message-info'), error: $('form-error') });
const letters = new DeadLetters(connection, { table: $('letters'), refresh: $('letters-refresh'), status: $('letters-status') });
let handlerOf = () => undefined;

new LiveFeed(connection, {
  form: $('feed-form'), names: $('feed-names'), aggregates: $('feed-aggregates'), subscribe: $('feed-subscribe'),
  pause: $('feed-pause'), clear: $('feed-clear'), list: $('feed'), status: $('feed-status'),
});
new MetricsPanel(connection, $('charts'));

/** The book's scenario (chapters 1 to 9) on one SKU: stock, a later batch, an order, a batch that shrinks, an unknown SKU. */
function bookScenario(sku) {
  return [
    ['Batch in stock', 'BatchCreated', { ref: `${sku}-b1`, sku, qty: 20, eta: null }],
    ['Batch arriving', 'BatchCreated', { ref: `${sku}-b2`, sku, qty: 20, eta: '2027-06-01' }],
    ['Allocate an order', 'AllocationRequired', { orderid: `${sku}-o1`, sku, qty: 10 }],
    ['Shrink the first batch', 'BatchQuantityChanged', { ref: `${sku}-b1`, sku, qty: 5 }],
    ['Unknown SKU', 'AllocationRequired', { orderid: `${sku}-o2`, sku: `${sku}-NOPE`, qty: 1 }],
  ];
}

const freshSku = () => `LAMP-${Math.random().toString(36).slice(2, 7).toUpperCase()}`;

/** Submits the form's message and draws its cascade; resolves with its last frame. */
function submitForm() {
  const message = form.read();
  if (!message) return Promise.resolve(null);
  const aggregate = form.message.aggregate ? message.data[form.message.aggregate] : '';
  const view = new CascadeView($('cascades'), { ...message, aggregate }, (handler) => handlerOf(handler));
  return new Promise((resolve) => {
    connection.request({ type: 'submit', name: message.name, data: message.data }, (frame) => {
      view.receive(frame);
      if (frame.type === 'done' || frame.type === 'error') resolve(frame);
    });
  });
}

function drawExamples() {
  const sku = freshSku();
  const steps = bookScenario(sku);
  const buttons = steps.map(([label, name, data], i) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `${i + 1}. ${label}`;
    button.addEventListener('click', () => form.fill(name, data));
    return button;
  });
  const runAll = document.createElement('button');
  runAll.type = 'button';
  runAll.id = 'run-scenario';
  runAll.textContent = 'Run all';
  runAll.disabled = connection.state !== 'connected';
  runAll.addEventListener('click', async () => {
    runAll.disabled = true;
    for (const [, name, data] of steps) {
      form.fill(name, data);
      await submitForm();
    }
    drawExamples();  // a fresh SKU for the next run
  });
  $('examples').replaceChildren(...buttons, runAll);
}

async function loadCatalog() {
  const answer = await connection.ask({ type: 'catalog' });
  if (answer.type !== 'catalog') return;
  const handled = new Map(answer.messages.flatMap((m) => m.handlers.map((h) => [h, m.name])));
  handlerOf = (handler) => handled.get(handler);
  form.setCatalog(answer.messages);
  drawExamples();
}

function showState({ state, why }) {
  $('state-dot').className = `dot ${state}`;
  $('state-text').textContent = why ? `${state} (${why})` : state;
  $('connect').textContent = state === 'disconnected' ? 'Connect' : 'Disconnect';
  $('submit').disabled = state !== 'connected';
  const run = $('run-scenario');
  if (run) run.disabled = state !== 'connected';
  const welcome = connection.welcome;
  const badge = (id, text, kind = '') => {
    $(id).hidden = !text;
    $(id).textContent = text ?? '';
    $(id).className = `badge ${kind}`;
  };
  badge('server-version', welcome && `cascade-server ${welcome.server}`);
  badge('durable', welcome && (welcome.durable ? 'durable' : 'in memory'), welcome?.durable ? 'yes' : 'no');
  badge('principal', welcome?.principal);
  if (state === 'connected') {
    loadCatalog();
    letters.load();
  }
}

connection.addEventListener('state', (e) => showState(e.detail));
connection.addEventListener('notice', (e) => {
  if (e.detail.type === 'disconnect') $('state-text').textContent = `closing: ${e.detail.reason}`;
});
$('connect-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (connection.state === 'disconnected') {
    sessionStorage.setItem('cascade-token', $('token').value);
    connection.connect($('token').value);
  } else {
    connection.disconnect();
  }
});
$('submit-form').addEventListener('submit', (e) => {
  e.preventDefault();
  submitForm();
});
$('clear-cascades').addEventListener('click', () => $('cascades').replaceChildren());

$('token').value = sessionStorage.getItem('cascade-token') ?? '';
connection.connect($('token').value);
