// A fake of the seed's payments and shipments REST APIs, for the http
// source's tests and the demo. Plain Node (no packages), 127.0.0.1 only.
//
//   node tests/fakes/api_server.js [--port N] [--key KEY] [--bearer TOKEN]
//        [--basic USER:PASS] [--seed N] [--payments N] [--shipments N]
//        [--data ENTITY=FILE]... [--page-size N] [--ignore-since]
//
// Prints "READY <port>" on stdout once listening; exits when stdin closes
// or on SIGTERM/SIGINT. Faults can also be set at start with the
// environment variable FAKE_API_FAULTS (the JSON body of POST /_faults).
//
// Data: generated deterministically from --seed (default 1): payments
// (payment_id, order_id, amount, currency, status, method, created_at,
// updated_at) and shipments (shipment_id, order_id, carrier, status,
// tracking_number, shipped_at, updated_at). Records are served in id order,
// so updated_at is NOT ordered across pages (as with most real APIs), which
// is what a client's high-water mark must cope with. --data ENTITY=FILE
// replaces an entity's records with a JSON array or JSON Lines file.
//
// Authentication (any one configured credential is accepted; 401 with a
// JSON message otherwise, as API Gateway usage plans and most APIs do):
//   x-api-key: KEY header (AWS API Gateway API keys, which the seed uses),
//   ?api_key=KEY query parameter, Authorization: Bearer TOKEN (RFC 6750),
//   Authorization: Basic base64(USER:PASS) (RFC 7617).
// Without --key/--bearer/--basic every request is accepted.
//
// Endpoints (all accept since=ISO-8601 and return records with
// updated_at >= since, unless ignore_since is on):
//   GET  /payments?since=&cursor=&limit=
//        Cursor pagination in the body, Slack Web API / Square style:
//        {"data":{"items":[...]},"meta":{"next_cursor":"b64"|null,"count":N}}.
//        The cursor is opaque (base64); a bad one is 400 invalid_cursor.
//   POST /payments/search?since=&cursor=&limit=   body {"status":"...",
//        "currency":"..."} filters (JSON); same response shape.
//   GET  /shipments?since=&page=&per_page=
//        Page numbers with a bare JSON array body and an RFC 8288 Link
//        header (rel="next", "last", "first", "prev"), GitHub REST style.
//        page starts at 1; a page past the end is [].
//   GET  /v2/payments?since=&offset=&limit=
//        Limit/offset with a next link in the body, Django REST Framework
//        LimitOffsetPagination style:
//        {"count":N,"next":url|null,"previous":url|null,"results":[...]}.
//   GET  /v2/shipments?since=&offset=&limit=   same for shipments.
//   GET  /v1/payments   301 Moved Permanently to /payments (same query), as
//        APIs answer for a retired version.
// Control endpoints (never counted, never faulted, no auth):
//   GET  /_stats   {"requests":N,"by_path":{...},"by_status":{...},
//                   "log":[{"method","path","query","auth","status"}...]}
//   POST /_reset   clears stats and faults
//   POST /_faults  {"faults":[{"type":T,"times":N,"after":K,"path":P,...}],
//                   "ignore_since":bool}
//        T is "429" (with "retry_after": "2" seconds or "date:2" for an
//        HTTP date 2 s ahead, or none), "500", "503", "malformed" (a
//        truncated JSON body with status 200), "slow" ("ms": delay before
//        the headers), "bad_item" (a string among the records), "close"
//        (the connection is dropped). after skips K matching requests
//        first; path limits it to one endpoint path. Faults are consumed
//        in order, one per request.
//   POST /_upsert/ENTITY   a JSON array of records, replacing those with
//        the same id and appending the others (data changing between runs).
'use strict';

const http = require('http');
const fs = require('fs');

const opts = {
  port: 0, keys: [], bearers: [], basics: [], seed: 1, payments: 250, shipments: 120,
  pageSize: 50, ignoreSince: false, data: {},
};
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1];
  const need = () => {
    if (v === undefined) {
      process.stderr.write(`api_server.js: ${a} needs a value\n`);
      process.exit(2);
    }
    i++;
    return v;
  };
  if (a === '--port') opts.port = Number(need());
  else if (a === '--key') opts.keys.push(need());
  else if (a === '--bearer') opts.bearers.push(need());
  else if (a === '--basic') opts.basics.push(need());
  else if (a === '--seed') opts.seed = Number(need());
  else if (a === '--payments') opts.payments = Number(need());
  else if (a === '--shipments') opts.shipments = Number(need());
  else if (a === '--page-size') opts.pageSize = Number(need());
  else if (a === '--ignore-since') opts.ignoreSince = true;
  else if (a === '--data') {
    const s = need();
    const at = s.indexOf('=');
    if (at <= 0) {
      process.stderr.write('api_server.js: --data wants ENTITY=FILE\n');
      process.exit(2);
    }
    opts.data[s.slice(0, at)] = s.slice(at + 1);
  } else {
    process.stderr.write(`api_server.js: unknown argument ${a}\n`);
    process.exit(2);
  }
}

// ---- deterministic data ----

// mulberry32: a small seeded PRNG, so every run serves the same records.
function prng(seed) {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE_MS = Date.UTC(2024, 0, 1);
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const pad = (n, w) => String(n).padStart(w, '0');

function genPayments(n, rnd) {
  const statuses = ['captured', 'captured', 'captured', 'refunded', 'failed', 'pending'];
  const methods = ['card', 'card', 'paypal', 'bank_transfer', 'apple_pay'];
  const currencies = ['EUR', 'EUR', 'USD', 'GBP'];
  const out = [];
  for (let i = 1; i <= n; i++) {
    const created = BASE_MS + Math.floor(rnd() * 14 * 86400) * 1000;
    const updated = created + Math.floor(rnd() * 3 * 86400) * 1000;
    out.push({
      payment_id: `pay_${pad(i, 6)}`,
      order_id: `ord_${pad(1 + Math.floor(rnd() * n), 6)}`,
      amount: Math.round(100 + rnd() * 49900) / 100,
      currency: currencies[Math.floor(rnd() * currencies.length)],
      status: statuses[Math.floor(rnd() * statuses.length)],
      method: methods[Math.floor(rnd() * methods.length)],
      created_at: iso(created),
      updated_at: iso(updated),
    });
  }
  return out;
}

function genShipments(n, rnd) {
  const carriers = ['DHL', 'UPS', 'FedEx', 'PostNL'];
  const statuses = ['label_created', 'in_transit', 'in_transit', 'delivered', 'returned'];
  const out = [];
  for (let i = 1; i <= n; i++) {
    const shipped = BASE_MS + Math.floor(rnd() * 14 * 86400) * 1000;
    const updated = shipped + Math.floor(rnd() * 5 * 86400) * 1000;
    out.push({
      shipment_id: `shp_${pad(i, 6)}`,
      order_id: `ord_${pad(1 + Math.floor(rnd() * n), 6)}`,
      carrier: carriers[Math.floor(rnd() * carriers.length)],
      status: statuses[Math.floor(rnd() * statuses.length)],
      tracking_number: `TRK${pad(Math.floor(rnd() * 1e9), 9)}`,
      shipped_at: iso(shipped),
      updated_at: iso(updated),
    });
  }
  return out;
}

function readRecords(file) {
  const text = fs.readFileSync(file, 'utf8');
  const t = text.trim();
  if (t.startsWith('[')) return JSON.parse(t);
  return t.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

const rnd = prng(opts.seed);
const db = {
  payments: genPayments(opts.payments, rnd),
  shipments: genShipments(opts.shipments, rnd),
};
const idField = { payments: 'payment_id', shipments: 'shipment_id' };
for (const [entity, file] of Object.entries(opts.data)) {
  db[entity] = readRecords(file);
}

// ---- faults and stats ----

let faults = [];
let ignoreSince = opts.ignoreSince;
let stats;
function resetStats() {
  stats = { requests: 0, by_path: {}, by_status: {}, log: [] };
}
resetStats();

function setFaults(spec) {
  faults = (spec.faults || []).map((f) => ({ times: 1, after: 0, ...f }));
  if (spec.ignore_since !== undefined) ignoreSince = !!spec.ignore_since;
}
if (process.env.FAKE_API_FAULTS) {
  setFaults(JSON.parse(process.env.FAKE_API_FAULTS));
}

// The first fault still active for this path, consuming it.
function takeFault(path) {
  for (const f of faults) {
    if (f.times <= 0 || (f.path && f.path !== path)) continue;
    if (f.after > 0) {
      f.after--;
      continue;
    }
    f.times--;
    return f;
  }
  return null;
}

// ---- helpers ----

function authOf(req, query) {
  const h = req.headers.authorization || '';
  if (opts.keys.length && opts.keys.includes(req.headers['x-api-key'])) return 'api_key';
  if (opts.keys.length && opts.keys.includes(query.get('api_key'))) return 'query';
  if (h.startsWith('Bearer ') && opts.bearers.includes(h.slice(7))) return 'bearer';
  if (h.startsWith('Basic ')) {
    const up = Buffer.from(h.slice(6), 'base64').toString('utf8');
    if (opts.basics.includes(up)) return 'basic';
  }
  if (!opts.keys.length && !opts.bearers.length && !opts.basics.length) return 'none';
  return null;
}

function sinceFilter(records, query) {
  const since = query.get('since');
  if (!since || ignoreSince) return records;
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) return null;
  return records.filter((r) => Date.parse(r.updated_at) >= ms);
}

function intParam(query, name, def, min, max) {
  const v = query.get(name);
  if (v === null || v === '') return def;
  if (!/^\d+$/.test(v)) return NaN;
  const n = Number(v);
  return Math.min(Math.max(n, min), max);
}

function selfUrl(req, path, query, changes) {
  const q = new URLSearchParams(query);
  for (const [k, v] of Object.entries(changes)) q.set(k, String(v));
  return `http://${req.headers.host}${path}?${q.toString()}`;
}

const encCursor = (o) => Buffer.from(`offset:${o}`).toString('base64');
function decCursor(c) {
  const m = /^offset:(\d+)$/.exec(Buffer.from(c, 'base64').toString('utf8'));
  return m ? Number(m[1]) : NaN;
}

// ---- endpoints: each returns {status, headers, body(object)} ----

function cursorPage(req, path, query, records) {
  const limit = intParam(query, 'limit', opts.pageSize, 1, 1000);
  const cur = query.get('cursor');
  const start = cur ? decCursor(cur) : 0;
  if (Number.isNaN(limit)) return error(400, 'invalid_limit', 'limit must be an integer');
  if (Number.isNaN(start)) return error(400, 'invalid_cursor', 'the cursor is not valid');
  const items = records.slice(start, start + limit);
  const more = start + limit < records.length;
  return {
    status: 200,
    body: {
      data: { items },
      meta: { next_cursor: more ? encCursor(start + limit) : null, count: items.length },
    },
  };
}

function linkPage(req, path, query, records) {
  const page = intParam(query, 'page', 1, 1, 1e9);
  const per = intParam(query, 'per_page', opts.pageSize, 1, 100);
  if (Number.isNaN(page) || Number.isNaN(per)) {
    return error(400, 'invalid_page', 'page and per_page must be integers');
  }
  const last = Math.max(1, Math.ceil(records.length / per));
  const links = [];
  // GitHub lists prev/first before next/last on middle pages.
  if (page > 1) {
    links.push(`<${selfUrl(req, path, query, { page: page - 1, per_page: per })}>; rel="prev"`);
    links.push(`<${selfUrl(req, path, query, { page: 1, per_page: per })}>; rel="first"`);
  }
  if (page < last) {
    links.push(`<${selfUrl(req, path, query, { page: page + 1, per_page: per })}>; rel="next"`);
    links.push(`<${selfUrl(req, path, query, { page: last, per_page: per })}>; rel="last"`);
  }
  const headers = links.length ? { Link: links.join(', ') } : {};
  return { status: 200, headers, body: records.slice((page - 1) * per, page * per) };
}

function offsetPage(req, path, query, records) {
  const offset = intParam(query, 'offset', 0, 0, 1e12);
  const limit = intParam(query, 'limit', opts.pageSize, 1, 1000);
  if (Number.isNaN(offset) || Number.isNaN(limit)) {
    return error(400, 'invalid_offset', 'offset and limit must be integers');
  }
  const next = offset + limit < records.length
    ? selfUrl(req, path, query, { offset: offset + limit, limit }) : null;
  const prev = offset > 0
    ? selfUrl(req, path, query, { offset: Math.max(0, offset - limit), limit }) : null;
  return {
    status: 200,
    body: { count: records.length, next, previous: prev, results: records.slice(offset, offset + limit) },
  };
}

function error(status, code, message) {
  return { status, body: { error: code, message } };
}

const routes = {
  'GET /payments': (req, path, q, recs) => cursorPage(req, path, q, recs('payments')),
  'POST /payments/search': (req, path, q, recs, body) => {
    let filter = {};
    if (body.length) {
      try {
        filter = JSON.parse(body);
      } catch (e) {
        return error(400, 'invalid_json', `the request body is not JSON: ${e.message}`);
      }
    }
    const rows = recs('payments').filter((r) =>
      Object.entries(filter).every(([k, v]) => r[k] === v));
    return cursorPage(req, path, q, rows);
  },
  'GET /shipments': (req, path, q, recs) => linkPage(req, path, q, recs('shipments')),
  'GET /v2/payments': (req, path, q, recs) => offsetPage(req, path, q, recs('payments')),
  'GET /v2/shipments': (req, path, q, recs) => offsetPage(req, path, q, recs('shipments')),
};

function send(res, status, headers, text) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

function control(req, res, path, body) {
  if (req.method === 'GET' && path === '/_stats') {
    return send(res, 200, {}, JSON.stringify(stats));
  }
  if (req.method === 'POST' && path === '/_reset') {
    resetStats();
    faults = [];
    ignoreSince = opts.ignoreSince;
    return send(res, 200, {}, '{"ok":true}');
  }
  if (req.method === 'POST' && path === '/_faults') {
    try {
      setFaults(JSON.parse(body || '{}'));
    } catch (e) {
      return send(res, 400, {}, JSON.stringify({ error: e.message }));
    }
    return send(res, 200, {}, '{"ok":true}');
  }
  const up = /^\/_upsert\/([a-z_]+)$/.exec(path);
  if (req.method === 'POST' && up) {
    const entity = up[1];
    let rows;
    try {
      rows = JSON.parse(body);
    } catch (e) {
      return send(res, 400, {}, JSON.stringify({ error: e.message }));
    }
    const list = db[entity] || (db[entity] = []);
    const id = idField[entity] || 'id';
    for (const r of rows) {
      const at = list.findIndex((x) => x[id] === r[id]);
      if (at >= 0) list[at] = r;
      else list.push(r);
    }
    return send(res, 200, {}, JSON.stringify({ ok: true, count: list.length }));
  }
  return send(res, 404, {}, '{"error":"not_found"}');
}

function handle(req, res, body) {
  const u = new URL(req.url, 'http://localhost');
  const path = u.pathname;
  if (path.startsWith('/_')) return control(req, res, path, body);

  const query = u.searchParams;
  const auth = authOf(req, query);
  const entry = { method: req.method, path, query: Object.fromEntries(query), auth, status: 0 };
  stats.requests++;
  stats.by_path[path] = (stats.by_path[path] || 0) + 1;
  stats.log.push(entry);
  const reply = (status, headers, text) => {
    entry.status = status;
    stats.by_status[status] = (stats.by_status[status] || 0) + 1;
    send(res, status, headers, text);
  };

  if (path === '/v1/payments') {
    return reply(301, { Location: `http://${req.headers.host}/payments${u.search}` },
      '{"message":"Moved Permanently"}');
  }
  const route = routes[`${req.method} ${path}`];
  if (!route) {
    return reply(404, {}, JSON.stringify({ error: 'not_found', message: `no route ${req.method} ${path}` }));
  }
  if (!auth) {
    return reply(401, { 'WWW-Authenticate': 'Bearer realm="fake-api"' },
      '{"message":"Unauthorized: missing or invalid API key"}');
  }
  const fault = takeFault(path);
  const run = () => {
    if (fault && (fault.type === '429' || fault.type === '500' || fault.type === '503')) {
      const headers = {};
      if (fault.retry_after !== undefined && fault.retry_after !== null) {
        const ra = String(fault.retry_after);
        headers['Retry-After'] = ra.startsWith('date:')
          ? new Date(Date.now() + Number(ra.slice(5)) * 1000).toUTCString() : ra;
      }
      const msg = fault.type === '429' ? '{"message":"Too Many Requests"}'
        : '{"message":"Internal server error"}';
      return reply(Number(fault.type), headers, msg);
    }
    if (fault && fault.type === 'close') {
      entry.status = -1;
      return req.socket.destroy();
    }
    const recs = (entity) => {
      const rows = sinceFilter(db[entity] || [], query);
      return rows;
    };
    if (query.get('since') && !ignoreSince && Number.isNaN(Date.parse(query.get('since')))) {
      return reply(400, {}, JSON.stringify({ error: 'invalid_since', message: 'since must be an ISO 8601 timestamp' }));
    }
    const out = route(req, path, query, recs, body);
    let text = JSON.stringify(out.body);
    if (fault && fault.type === 'bad_item') {
      const list = Array.isArray(out.body) ? out.body
        : (out.body.data ? out.body.data.items : out.body.results);
      list.splice(Math.min(1, list.length), 0, 'not an object');
      text = JSON.stringify(out.body);
    }
    if (fault && fault.type === 'malformed') {
      text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    }
    return reply(out.status, out.headers || {}, text);
  };
  if (fault && fault.type === 'slow') {
    setTimeout(run, fault.ms || 1000);
  } else {
    run();
  }
  return undefined;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      send(res, 500, {}, JSON.stringify({ error: 'fake_bug', message: String(e.stack) }));
    }
  });
});
server.keepAliveTimeout = 5000;

server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});

function stop() {
  server.close();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
