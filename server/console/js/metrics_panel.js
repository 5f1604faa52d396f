// Small live charts from /metrics (Prometheus text): rates of counters, values of gauges and
// handler latency percentiles from the histogram's buckets, over the last two minutes.

const POINTS = 120;
const PERIOD_MS = 1000;

/** name{labels} value lines -> Map(series -> number); comments skipped. */
export function parsePrometheus(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The q-quantile of a histogram from the increase of its cumulative buckets, in seconds. */
function quantile(now, before, name, q) {
  const buckets = [];
  for (const [series, value] of now) {
    const match = series.match(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`));
    if (match) buckets.push({ le: match[1] === '+Inf' ? Infinity : Number(match[1]), count: value - (before.get(series) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const bucket = buckets.find((b) => b.count >= q * total);
  return Number.isFinite(bucket.le) ? bucket.le : buckets.at(-2)?.le ?? null;
}

const rate = (name) => (now, before, seconds) => Math.max(0, (now.get(name) - (before.get(name) ?? now.get(name))) / seconds);
const current = (name) => (now) => now.get(name);
const latency = (q) => (now, before) => quantile(now, before, 'cascade_bus_handler_latency_seconds', q);

/** What the panel charts: [label, how to read it from two scrapes, unit]. */
const CHARTS = [
  ['submits/s', rate('cascade_bus_submitted_total'), '/s'],
  ['handled/s', rate('cascade_bus_handled_total'), '/s'],
  ['frames streamed/s', rate('cascade_gateway_frames_out_total'), '/s'],
  ['handler p50', latency(0.5), 's'],
  ['handler p99', latency(0.99), 's'],
  ['queued', current('cascade_bus_queued'), ''],
  ['active lanes', current('cascade_bus_active_lanes'), ''],
  ['dead letters', current('cascade_bus_dead_lettered_total'), ''],
  ['slow consumers', current('cascade_gateway_slow_consumers_total'), ''],
  ['connections', current('cascade_gateway_connections'), ''],
];

function format(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (unit === 's') return value >= 1 ? `${value.toFixed(2)} s` : value >= 1e-3 ? `≤ ${(value * 1e3).toFixed(1)} ms` : `≤ ${(value * 1e6).toFixed(0)} µs`;
  const rounded = value >= 100 ? Math.round(value).toLocaleString('en') : Number(value.toFixed(1)).toString();
  return unit === '/s' ? `${rounded}/s` : rounded;
}

class Chart {
  points = [];

  constructor(parent, label, unit) {
    this.unit = unit;
    const box = document.createElement('div');
    box.className = 'chart';
    box.dataset.chart = label;
    const caption = document.createElement('div');
    caption.className = 'label';
    this.value = document.createElement('span');
    this.value.className = 'value';
    this.value.textContent = '–';
    caption.append(label, this.value);
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${label} over the last two minutes`);
    box.append(caption, this.canvas);
    parent.append(box);
  }

  add(value) {
    this.points.push(value ?? 0);
    if (this.points.length > POINTS) this.points.shift();
    this.value.textContent = format(value, this.unit);
    this.value.dataset.peak = Math.max(...this.points);
    this.#draw();
  }

  #draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = canvas.clientWidth * ratio;
    canvas.height = canvas.clientHeight * ratio;
    const g = canvas.getContext('2d');
    const top = Math.max(...this.points, 1e-9);
    const step = canvas.width / (POINTS - 1);
    const x0 = canvas.width - step * (this.points.length - 1);
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.beginPath();
    this.points.forEach((p, i) => {
      const x = x0 + i * step;
      const y = canvas.height - (p / top) * (canvas.height - 2 * ratio) - ratio;
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--accent');
    g.lineWidth = 1.5 * ratio;
    g.stroke();
  }
}

export class MetricsPanel {
  #before = null;
  #at = 0;

  constructor(connection, parent) {
    this.connection = connection;
    this.charts = CHARTS.map(([label, read, unit]) => ({ chart: new Chart(parent, label, unit), read }));
    this.#poll();
  }

  /** One scrape at a time: the next is asked for a period after this one is answered. */
  async #poll() {
    await this.#scrape();
    setTimeout(() => this.#poll(), PERIOD_MS);
  }

  async #scrape() {
    let now;
    const at = performance.now();  // when asked: a slow answer does not stretch the interval
    try {
      const reply = await this.connection.fetch('/metrics');
      if (!reply.ok) return;
      now = parsePrometheus(await reply.text());
    } catch {
      return;  // the server is away; the connection state says so
    }
    if (this.#before) {
      const seconds = (at - this.#at) / 1000;
      for (const { chart, read } of this.charts) chart.add(read(now, this.#before, seconds));
    }
    this.#before = now;
    this.#at = at;
  }
}
