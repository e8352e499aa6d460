// The live page: the sale's stock moving live, a buy button, and the signed-in customer's orders
// with their shipping status pushed live. Plain JS, no build step.
const params = new URLSearchParams(location.search);
const saleId = params.get('sale') || 'demo';
const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
if (hashToken) {
  sessionStorage.setItem('token', hashToken);
  history.replaceState(null, '', location.pathname + location.search);
}
const token = sessionStorage.getItem('token');
const $ = (id) => document.getElementById(id);
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const RECONNECT_MS = 1000;
const STATUS_TEXT = {
  CONFIRMED: 'Confirmed',
  SHIPPING_DELAYED: 'Confirmed — shipping will be arranged shortly',
  SHIPPING_REQUESTED: 'Shipping requested',
  SHIPPING_FAILED: 'Shipping failed — we will contact you',
};
const orders = new Map();

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
  const pill = $('sale-status');
  if (remaining === 0) {
    pill.textContent = 'SOLD OUT';
    pill.className = 'status-pill SOLD_OUT';
  }
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
    const label = document.createElement('span');
    label.textContent = `${order.quantity} × ${order.orderId}`;
    const status = document.createElement('span');
    status.className = 'status';
    status.dataset.status = order.status;
    status.textContent = STATUS_TEXT[order.status] ?? order.status;
    item.append(label, status);
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
  return { status: response.status, body: await response.json() };
}

async function loadSale() {
  const { status, body } = await api(`/v1/sales/${saleId}`);
  if (status !== 200) {
    $('sale-name').textContent = body.message;
    return;
  }
  $('sale-name').textContent = body.name;
  $('limit').textContent = body.perCustomerLimit;
  $('sale-status').textContent = body.status.replace('_', ' ');
  $('sale-status').className = `status-pill ${body.status}`;
  showStock(body);
}

async function loadMyOrders() {
  if (!token) return;
  const { status, body } = await api(`/v1/sales/${saleId}/me`);
  if (status !== 200) return;
  for (const order of body.orders) orders.set(order.orderId, order);
  renderOrders();
}

function follow(path, onMessage) {
  const socket = new WebSocket(`${wsBase}${path}`);
  socket.onmessage = (event) => onMessage(JSON.parse(event.data));
  socket.onclose = () => setTimeout(() => follow(path, onMessage), RECONNECT_MS);
}

async function buy() {
  const quantity = Number($('quantity').value);
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
      orders.set(body.orderId, { ...orders.get(body.orderId), ...body });
      renderOrders();
      say(`Order ${body.orderId} confirmed.`, 'ok');
    } else {
      say(body.message, 'error');
    }
  } catch {
    say('The network failed; please try again.', 'error');
  } finally {
    $('buy').disabled = false;
  }
}

const customer = token ? subjectOf(token) : null;
if (customer) {
  $('who').textContent = `Signed in as ${customer}.`;
  $('buy').disabled = false;
  $('buy').addEventListener('click', buy);
  follow(`/v1/me/live?token=${encodeURIComponent(token)}`, (message) => {
    if (message.type !== 'orderStatus' || message.saleId !== saleId) return;
    const known = orders.get(message.orderId);
    if (known) orders.set(message.orderId, { ...known, status: message.status });
    else void loadMyOrders();
    renderOrders();
  });
}
follow(`/v1/sales/${saleId}/live`, (message) => {
  if (message.type === 'stock') showStock(message);
});
await loadSale();
await loadMyOrders();
