// The live page: the sale's stock moving live, a buy button, and the signed-in customer's orders
// with their shipping status pushed live; for a sale with a waiting room, the lobby's countdown,
// the draw's seed hash, the caller's position and ETA, and the buy button once admitted. Plain
// JS, no build step (the ALTCHA widget is served by the gateway as /altcha.js).
const params = new URLSearchParams(location.search);
const saleId = params.get('sale') || 'demo';
const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
if (hashToken) {
  // Kept for this tab only, and out of the address bar (and so out of history and screenshots).
  sessionStorage.setItem('token', hashToken);
  history.replaceState(null, '', location.pathname + location.search);
}
const token = sessionStorage.getItem('token');
const customer = token ? subjectOf(token) : null;
const $ = (id) => document.getElementById(id);
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
/** Wait before reconnecting a closed live socket (a restarting gateway, a network blip). */
const RECONNECT_MS = 1000;
const STATUS_TEXT = {
  CONFIRMED: 'Confirmed',
  SHIPPING_DELAYED: 'Confirmed — shipping will be arranged shortly',
  SHIPPING_REQUESTED: 'Shipping requested',
  SHIPPING_FAILED: 'Shipping failed — we will contact you',
};
/** orderId → { orderId, quantity?, status, trackingId, at }: `at` is when `status` was set. */
const orders = new Map();
let liveStock = false;
let soldOut = false;
/** The sale's waiting room, when it has one: orders only once admitted. */
let room = null;
let startsAt = null;
/** The caller's place: { state, ticket, admittedUntil? }, null until joined. */
let place = null;
/** The latest queue message (the same for everyone): serving, rate, seed hash. */
let queue = null;

/** Admitted and within the admission's time: the one state in which a room lets you buy. */
function admitted() {
  return place?.state === 'ADMITTED' && Date.parse(place.admittedUntil) > Date.now();
}

function canBuy() {
  return Boolean(customer) && !soldOut && (!room || admitted());
}

function subjectOf(jwt) {
  try {
    return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub;
  } catch {
    return null;
  }
}

function showStock({ stock, remaining }) {
  $('remaining').textContent = remaining;
  $('stock').textContent = stock;
  soldOut = remaining === 0;
  if (soldOut) {
    $('sale-status').textContent = 'SOLD OUT';
    $('sale-status').className = 'status-pill SOLD_OUT';
  }
  $('buy').disabled = !canBuy();
}

/**
 * Keeps the newer of what is known and what arrived: an order list fetched before a live change
 * can land after it, and must not put the older status back.
 */
function remember(orderId, fields, at) {
  const known = orders.get(orderId);
  if (known && known.at > at) orders.set(orderId, { ...fields, ...known });
  else orders.set(orderId, { ...known, ...fields, orderId, at });
}

function rememberOrder(order) {
  const last = order.history[order.history.length - 1];
  const { orderId, quantity, status, trackingId } = order;
  remember(orderId, { quantity, status, trackingId }, Date.parse(last?.at ?? order.createdAt));
}

function renderOrders() {
  const list = $('orders');
  list.replaceChildren();
  if (orders.size === 0) {
    list.innerHTML = '<li class="empty">None yet.</li>';
    return;
  }
  for (const order of [...orders.values()].reverse()) {
    const item = document.createElement('li');
    item.dataset.orderId = order.orderId;
    const what = document.createElement('div');
    what.className = 'what';
    const id = document.createElement('span');
    id.className = 'order-id';
    id.textContent = order.orderId;
    what.append(id);
    if (order.quantity !== undefined) {
      const units = document.createElement('span');
      units.className = 'units';
      units.textContent = `${order.quantity} ${order.quantity === 1 ? 'unit' : 'units'}`;
      what.append(units);
    }
    const state = document.createElement('div');
    state.className = 'state';
    const status = document.createElement('span');
    status.className = 'status';
    status.dataset.status = order.status;
    status.textContent = STATUS_TEXT[order.status] ?? order.status;
    state.append(status);
    if (order.trackingId) {
      const tracking = document.createElement('span');
      tracking.className = 'tracking';
      tracking.textContent = `Tracking ${order.trackingId}`;
      state.append(tracking);
    }
    item.append(what, state);
    list.append(item);
  }
}

function say(text, kind) {
  const message = $('message');
  message.textContent = text;
  message.className = `message ${kind}`;
}

async function api(path, options = {}) {
  const headers = { ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { message: `The server answered ${response.status}.` };
  }
  return { status: response.status, body };
}

async function loadSale() {
  const { status, body } = await api(`/v1/sales/${saleId}`);
  if (status !== 200) {
    $('sale-name').textContent = body.message;
    $('sale-status').textContent = 'unavailable';
    return;
  }
  $('sale-name').textContent = body.name;
  document.title = `${body.name} — flash sale`;
  $('limit').textContent = body.perCustomerLimit;
  room = body.waitingRoom ?? null;
  startsAt = body.startsAt ? Date.parse(body.startsAt) : null;
  if (room) {
    setInterval(renderQueue, 1000);
    await loadMyPlace();
  }
  $('sale-status').textContent = body.status.replace('_', ' ');
  $('sale-status').className = `status-pill ${body.status}`;
  // The live socket is the fresher source: this reply may have been read before its last change.
  if (!liveStock) showStock(body);
}

async function loadMyOrders() {
  if (!token) return;
  const { status, body } = await api(`/v1/sales/${saleId}/me`);
  if (status !== 200) return;
  for (const order of body.orders) rememberOrder(order);
  renderOrders();
}

function follow(path, onMessage) {
  const socket = new WebSocket(`${wsBase}${path}`);
  socket.onmessage = (event) => onMessage(JSON.parse(event.data));
  socket.onclose = () => setTimeout(() => follow(path, onMessage), RECONNECT_MS);
}

async function buy() {
  const quantity = Number($('quantity').value);
  // One key per click: a retry of this request can never buy twice.
  const key = crypto.randomUUID();
  $('buy').disabled = true;
  say('Placing your order…', '');
  try {
    const { status, body } = await api(`/v1/sales/${saleId}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ quantity }),
    });
    if (status === 201 || status === 200) {
      rememberOrder(body);
      renderOrders();
      say(`Order ${body.orderId} confirmed.`, 'ok');
    } else {
      say(body.message, 'error');
    }
  } catch {
    say('The network failed; please try again.', 'error');
  } finally {
    $('buy').disabled = !canBuy();
  }
}

const PLACE_TEXT = {
  LOBBY: 'in the lobby: your ticket is drawn at the start',
  ADMITTED: 'admitted: you may buy now',
  EXPIRED: 'your admission has expired',
  CLOSED: 'the queue is closed: sold out',
  LEFT: 'you left the queue',
};

/** Position from the ticket and the queue's serving counter; ETA from the measured rate. */
function renderQueue() {
  if (!room) return;
  $('queue').hidden = false;
  const left = startsAt === null ? 0 : startsAt - Date.now();
  $('countdown').textContent =
    left > 0
      ? `in ${Math.floor(left / 60_000)}:${String(Math.floor(left / 1000) % 60).padStart(2, '0')}`
      : 'is done';
  if (queue) {
    $('queue-state').textContent =
      `${queue.state.replace('_', ' ')} — ${queue.waiting} waiting, serving ticket ${queue.serving}`;
    if (queue.seedHash) $('seed-hash').textContent = queue.seedHash;
  }
  if (place?.state === 'WAITING' && place.ticket !== null) {
    const position = Math.max(0, place.ticket - (queue?.serving ?? 0));
    const rate = queue?.admittedPerSecond || room.admitPerSecond;
    $('position').textContent = `ticket ${place.ticket}, position ${position}`;
    $('eta').textContent = `about ${Math.ceil(position / rate)} s`;
  } else {
    $('position').textContent = place
      ? (PLACE_TEXT[place.state] ?? place.state)
      : 'not in the queue';
    $('eta').textContent = '';
  }
  $('join').disabled = !customer || place !== null || queue?.state === 'CLOSED';
  $('buy').disabled = !canBuy();
}

async function loadMyPlace() {
  if (!room || !token) return;
  const { status, body } = await api(`/v1/sales/${saleId}/queue/me`);
  if (status === 200) place = body;
  renderQueue();
}

/** Fetches the caller's challenge, lets the ALTCHA widget solve it, and joins with its payload. */
async function join() {
  $('join').disabled = true;
  say('Solving the proof of work…', '');
  try {
    const challenge = await api(`/v1/sales/${saleId}/queue/challenge`);
    if (challenge.status !== 200) return say(challenge.body.message, 'error');
    await customElements.whenDefined('altcha-widget');
    const widget = $('altcha');
    await widget.configure({ challenge: challenge.body });
    const solved = await widget.verify();
    if (!solved?.payload) return say('The proof of work could not be solved; try again.', 'error');
    const { status, body } = await api(`/v1/sales/${saleId}/queue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ solution: solved.payload }),
    });
    if (status !== 202) return say(body.message, 'error');
    place = body;
    say('You are in the queue.', 'ok');
  } catch {
    say('The network failed; please try again.', 'error');
  } finally {
    renderQueue();
  }
}

if (customer) {
  $('who').textContent = `Signed in as ${customer}.`;
  $('buy').disabled = !canBuy();
  $('buy').addEventListener('click', buy);
  $('join').addEventListener('click', join);
  follow(`/v1/me/live?token=${encodeURIComponent(token)}`, (message) => {
    // Ready: every change from now on will arrive here, so the list read now misses nothing
    // (also after a reconnect, which may have missed some).
    if (message.type === 'ready') {
      void loadMyOrders();
      void loadMyPlace();
    }
    if (message.type === 'admission' && message.saleId === saleId) {
      place = { ...place, state: message.state, admittedUntil: message.admittedUntil };
      say('You are admitted: buy now.', 'ok');
      renderQueue();
      return;
    }
    if (message.type !== 'orderStatus' || message.saleId !== saleId) return;
    const { orderId, status, trackingId } = message;
    remember(orderId, { status, trackingId }, Date.parse(message.at));
    if (orders.get(orderId).quantity === undefined) void loadMyOrders();
    renderOrders();
  });
}
follow(`/v1/sales/${saleId}/live`, (message) => {
  if (message.type === 'queue') {
    queue = message;
    // The line moved past the caller's ticket: the admission is on its way (or was missed).
    if (place?.state === 'WAITING' && place.ticket !== null && message.serving >= place.ticket)
      void loadMyPlace();
    renderQueue();
    return;
  }
  if (message.type !== 'stock') return;
  liveStock = true;
  showStock(message);
});
try {
  await loadSale();
} catch {
  say('The sale could not be loaded; retrying live.', 'error');
}
