#!/usr/bin/env node
// Writes the bronze-lake example's source data, deterministically:
//   seed/day1/{customers,products,orders}.jsonl   the shop database on day 1
//   seed/day1/{payments,shipments}.jsonl          what the fake APIs serve on day 1
//   seed/day2/...                                 the second day's changes and new rows
// usage: node seed/generate.js   (from examples/bronze-lake; output is committed)
'use strict';
const fs = require('fs');
const path = require('path');

let s = 20261122;
function rnd() { // xorshift32: the same data on every machine
  s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
  return s / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const DAY1 = Date.UTC(2026, 10, 20); // 2026-11-20
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const first = ['Ann', 'Bo', 'Chen', 'Dana', 'Eero', 'Fatima', 'Goran', 'Hiro', 'Ines', 'Jonas',
  'Kofi', 'Lena', 'Mateo', 'Nia', 'Olek', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq'];
const last = ['Smith', 'García', 'Müller', 'Okafor', 'Tanaka', 'Silva', 'Novak', 'Dubois',
  'Kowalski', "O'Brien"];
const countries = ['DE', 'FR', 'US', 'JP', 'BR', 'NG', 'PL', 'IN'];
const cats = ['books', 'garden', 'kitchen', 'toys', 'tools'];

function write(file, rows) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

const dir = path.join(__dirname);
const customers = [];
for (let i = 1; i <= 200; i++) {
  customers.push({ id: i, name: `${pick(first)} ${pick(last)}`, email: `customer${i}@example.com`,
    country: pick(countries), created_at: iso(DAY1 - Math.floor(rnd() * 300) * 86400000),
    updated_at: iso(DAY1 - Math.floor(rnd() * 3) * 86400000 + Math.floor(rnd() * 86400) * 1000) });
}
const products = [];
for (let i = 1; i <= 40; i++) {
  products.push({ id: i, sku: `SKU-${1000 + i}`, name: `${pick(cats)} item ${i}`,
    category: pick(cats), price: Math.round(rnd() * 20000) / 100,
    updated_at: iso(DAY1 - Math.floor(rnd() * 5) * 86400000) });
}
const orders = [];
for (let i = 1; i <= 1000; i++) {
  const at = DAY1 - Math.floor(rnd() * 3 * 86400) * 1000;
  orders.push({ id: i, customer_id: 1 + Math.floor(rnd() * 200), product_id: 1 + Math.floor(rnd() * 40),
    quantity: 1 + Math.floor(rnd() * 5), amount: Math.round(rnd() * 50000) / 100,
    status: pick(['placed', 'paid', 'shipped', 'delivered']), order_date: iso(at).slice(0, 10),
    updated_at: iso(at + Math.floor(rnd() * 3600) * 1000) });
}
write(path.join(dir, 'day1', 'customers.jsonl'), customers);
write(path.join(dir, 'day1', 'products.jsonl'), products);
write(path.join(dir, 'day1', 'orders.jsonl'), orders);

// Day 2: 20 customers change (some at exactly the same second), 150 new
// orders, 30 orders change status.
const DAY2 = DAY1 + 86400000;
const c2 = [];
const changed = new Set();
for (let k = 0; k < 20; k++) {
  let at = Math.floor(rnd() * 200);
  while (changed.has(at)) at = (at + 1) % 200; // 20 different customers
  changed.add(at);
  const c = Object.assign({}, customers[at]);
  c.country = pick(countries);
  c.updated_at = iso(DAY2 + 3600000 + (k < 5 ? 0 : k * 60000));
  c2.push(c);
}
const o2 = [];
for (let k = 0; k < 30; k++) {
  const o = Object.assign({}, orders[Math.floor(rnd() * 1000)]);
  o.status = 'delivered';
  o.updated_at = iso(DAY2 + 7200000 + k * 1000);
  o2.push(o);
}
for (let i = 1001; i <= 1150; i++) {
  const at = DAY2 + Math.floor(rnd() * 43200) * 1000;
  o2.push({ id: i, customer_id: 1 + Math.floor(rnd() * 200), product_id: 1 + Math.floor(rnd() * 40),
    quantity: 1 + Math.floor(rnd() * 5), amount: Math.round(rnd() * 50000) / 100,
    status: 'placed', order_date: iso(at).slice(0, 10), updated_at: iso(at) });
}
const p2 = [];
for (let k = 0; k < 5; k++) {
  const p = Object.assign({}, products[k * 7]);
  p.price = Math.round(p.price * 110) / 100;
  p.updated_at = iso(DAY2 + 600000);
  p2.push(p);
}
write(path.join(dir, 'day2', 'customers.jsonl'), c2);
write(path.join(dir, 'day2', 'products.jsonl'), p2);
write(path.join(dir, 'day2', 'orders.jsonl'), o2);

// API data: one payment per order and a shipment per shipped order; the
// new orders' ones appear on day 2 (seed/day2/ holds them).
function apiRows(list) {
  const payments = [];
  const shipments = [];
  for (const o of list) {
    const t = Date.parse(o.updated_at);
    payments.push({ payment_id: `pay_${o.id}`, order_id: o.id, amount: o.amount, currency: 'EUR',
      method: pick(['card', 'paypal', 'sepa']), status: 'captured', created_at: iso(t + 60000),
      updated_at: iso(t + 120000) });
    if (o.status === 'shipped' || o.status === 'delivered') {
      shipments.push({ shipment_id: `shp_${o.id}`, order_id: o.id, carrier: pick(['DHL', 'UPS', 'GLS']),
        status: o.status === 'delivered' ? 'delivered' : 'in_transit', shipped_at: iso(t + 86400000),
        updated_at: iso(t + 90000000) });
    }
  }
  return [payments, shipments];
}
const [payments, shipments] = apiRows(orders);
const [payments2] = apiRows(o2.filter((x) => x.id > 1000));
const [, shipments2] = apiRows(o2.filter((x) => x.id <= 1000)); // delivered on day 2
write(path.join(dir, 'day1', 'payments.jsonl'), payments);
write(path.join(dir, 'day1', 'shipments.jsonl'), shipments);
write(path.join(dir, 'day2', 'payments.jsonl'), payments2);
write(path.join(dir, 'day2', 'shipments.jsonl'), shipments2);
console.log(`customers ${customers.length}, products ${products.length}, orders ${orders.length}, ` +
  `day2 customers ${c2.length}, day2 orders ${o2.length}, payments ${payments.length}+${payments2.length}, shipments ${shipments.length}+${shipments2.length}`);
