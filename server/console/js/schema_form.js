// A submit form generated from the catalog: one input per field of the message's JSON Schema,
// checked against that schema before anything is sent.

/** The JSON type a property names first, and whether null is allowed. */
function typeOf(property) {
  const types = Array.isArray(property.type) ? property.type : [property.type];
  return { type: types.find((t) => t !== 'null'), nullable: types.includes('null') };
}

/** An input for one property, with the schema's rules as HTML constraints. */
function inputFor(name, property, required) {
  const { type, nullable } = typeOf(property);
  const input = document.createElement('input');
  input.id = `field-${name}`;
  input.name = name;
  if (type === 'integer' || type === 'number') {
    input.type = 'number';
    input.step = type === 'integer' ? '1' : 'any';
    if (property.minimum !== undefined && Number.isSafeInteger(property.minimum)) input.min = property.minimum;
    if (property.maximum !== undefined && Number.isSafeInteger(property.maximum)) input.max = property.maximum;
  } else if (type === 'boolean') {
    input.type = 'checkbox';
  } else if (property.format === 'date') {
    input.type = 'date';
  } else {
    input.type = 'text';
    if (property.minLength) input.minLength = property.minLength;
    input.autocomplete = 'off';
  }
  input.required = required && !nullable && type !== 'boolean';
  input.dataset.type = type;
  input.dataset.nullable = nullable;
  return input;
}

/** The value an input holds, as the schema's type; undefined when left empty. */
function valueOf(input) {
  if (input.type === 'checkbox') return input.checked;
  if (input.value === '') return input.dataset.nullable === 'true' ? null : undefined;
  return input.dataset.type === 'integer' || input.dataset.type === 'number' ? Number(input.value) : input.value;
}

/** What is wrong with `data` under `schema`, field by field (the keywords the catalog uses). */
export function schemaErrors(schema, data) {
  const errors = [];
  for (const name of schema.required ?? []) {
    if (data[name] === undefined) errors.push(`${name}: required`);
  }
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const value = data[name];
    if (value === undefined) continue;
    const { type, nullable } = typeOf(property);
    if (value === null) {
      if (!nullable) errors.push(`${name}: must not be empty`);
      continue;
    }
    if (type === 'integer' && !Number.isInteger(value)) errors.push(`${name}: must be a whole number`);
    if (type === 'number' && typeof value !== 'number') errors.push(`${name}: must be a number`);
    if (type === 'string' && typeof value !== 'string') errors.push(`${name}: must be text`);
    if (property.minimum !== undefined && value < property.minimum) errors.push(`${name}: at least ${property.minimum}`);
    if (property.maximum !== undefined && value > property.maximum) errors.push(`${name}: at most ${property.maximum}`);
    if (property.minLength !== undefined && [...String(value)].length < property.minLength) {
      errors.push(property.minLength === 1 ? `${name}: must not be empty` : `${name}: at least ${property.minLength} characters`);
    }
    if (property.pattern !== undefined && !new RegExp(property.pattern, 'u').test(value)) errors.push(`${name}: not in the expected form`);
  }
  return errors;
}

export class SchemaForm {
  #messages = new Map();

  constructor({ form, select, fields, info, error }) {
    Object.assign(this, { form, select, fields, info, error });
    select.addEventListener('change', () => this.#drawFields());
  }

  /** Offers the messages clients may submit. */
  setCatalog(messages) {
    this.#messages = new Map(messages.filter((m) => m.from_edge).map((m) => [m.name, m]));
    const chosen = this.select.value;
    this.select.replaceChildren(...[...this.#messages.keys()].map((name) => new Option(name, name)));
    if (this.#messages.has(chosen)) this.select.value = chosen;
    this.#drawFields();
  }

  /** The chosen message's catalog entry. */
  get message() {
    return this.#messages.get(this.select.value);
  }

  /** Picks `name` and fills its fields from `data`. */
  fill(name, data) {
    if (!this.#messages.has(name)) throw new Error(`${name} is not in the catalog`);
    this.select.value = name;
    this.#drawFields();
    for (const [key, value] of Object.entries(data)) {
      const input = this.fields.querySelector(`[name="${key}"]`);
      if (!input) continue;
      if (input.type === 'checkbox') input.checked = Boolean(value);
      else input.value = value ?? '';
    }
  }

  /** The form's message as {name, data}, or null (with the errors shown) when it breaks its schema. */
  read() {
    const message = this.message;
    if (!message) return null;
    const data = {};
    for (const input of this.fields.querySelectorAll('input')) {
      const value = valueOf(input);
      if (value !== undefined) data[input.name] = value;
    }
    const errors = schemaErrors(message.schema, data);
    this.error.textContent = errors.join('; ');
    if (errors.length > 0 || !this.form.checkValidity()) {
      this.form.reportValidity();
      return null;
    }
    return { name: message.name, data };
  }

  #drawFields() {
    const message = this.message;
    this.error.textContent = '';
    if (!message) {
      this.fields.replaceChildren();
      this.info.textContent = '';
      return;
    }
    const required = new Set(message.schema.required ?? []);
    // JSON objects have no order: the required list keeps the message's own, the rest follow.
    const properties = message.schema.properties ?? {};
    const names = [...required, ...Object.keys(properties).filter((name) => !required.has(name))];
    const rows = names.map((name) => [name, properties[name]]).map(([name, property]) => {
      const label = document.createElement('label');
      label.htmlFor = `field-${name}`;
      label.textContent = name + (required.has(name) ? '' : ' (optional)') + (name === message.aggregate ? ' · aggregate' : '');
      return [label, inputFor(name, property, required.has(name))];
    });
    this.fields.replaceChildren(...rows.flat());
    this.info.textContent = `${message.kind}, handled by ${message.handlers.join(', ') || 'no one'}`;
  }
}
