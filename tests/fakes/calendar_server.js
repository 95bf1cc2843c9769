// A fake events site for the map tests (the calendar shape of seed 001):
//
//   GET /calendar?date=YYYY-MM-DD   {"events": [{id, date, title}, ...]}
//   GET /_stats                     what the site saw (below)
//   GET /_heal                      from now on, --fail dates answer too
//
// --events N         events per date (default 3); ids are unique per date
// --fail D1,D2       these dates always answer 500
// --flaky D:K,...    these dates answer 500 K times, then normally
// --slow MS          each answer waits MS milliseconds first (default 30),
//                    so requests of items running side by side overlap
// --hang D1,...      these dates never answer (for timeouts)
// --gate N           hold every answer until N requests are open at once
//                    (or 3 s passed, for the last ones): with N workers the
//                    site then sees exactly N at once, however slowly the
//                    machine runs them
//
// /_stats: {requests, by_date: {date: count}, max_in_flight, by_status}.
// max_in_flight is how many requests were open at once at most: the proof
// of a map's concurrency that does not depend on timing.
// Prints "READY <port>" on stdout once listening; exits when stdin closes.
'use strict';
const http = require('http');

const opts = {events: 3, fail: new Set(), flaky: new Map(), slow: 30, hang: new Set(), gate: 0};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i], v = argv[i + 1];
  if (a === '--events') { opts.events = Number(v); i++; }
  else if (a === '--fail') { v.split(',').filter(Boolean).forEach(d => opts.fail.add(d)); i++; }
  else if (a === '--hang') { v.split(',').filter(Boolean).forEach(d => opts.hang.add(d)); i++; }
  else if (a === '--flaky') {
    v.split(',').filter(Boolean).forEach(p => {
      const [d, k] = p.split(':');
      opts.flaky.set(d, Number(k));
    });
    i++;
  } else if (a === '--slow') { opts.slow = Number(v); i++; }
  else if (a === '--gate') { opts.gate = Number(v); i++; }
  else { process.stderr.write(`unknown option ${a}\n`); process.exit(2); }
}

const stats = {requests: 0, by_date: {}, max_in_flight: 0, by_status: {}};
let inFlight = 0;
let gated = []; // answers waiting for the gate

function openGate() {
  const waiting = gated;
  gated = [];
  waiting.forEach(go => go());
}

function answer(res, status, body) {
  stats.by_status[status] = (stats.by_status[status] || 0) + 1;
  res.writeHead(status, {'content-type': 'application/json'});
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/_heal') {
    opts.fail.clear();
    res.writeHead(200, {'content-type': 'application/json'});
    res.end('{}');
    return;
  }
  if (url.pathname === '/_stats') {
    res.writeHead(200, {'content-type': 'application/json'});
    res.end(JSON.stringify(stats));
    return;
  }
  if (url.pathname !== '/calendar') {
    answer(res, 404, {error: 'not found'});
    return;
  }
  const date = url.searchParams.get('date') || '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    answer(res, 400, {error: `bad date '${date}'`});
    return;
  }
  stats.requests++;
  stats.by_date[date] = (stats.by_date[date] || 0) + 1;
  inFlight++;
  stats.max_in_flight = Math.max(stats.max_in_flight, inFlight);
  let closed = false;
  const done = () => { if (!closed) { closed = true; inFlight--; } };
  res.on('close', done);
  if (opts.hang.has(date)) {
    return; // never answers; the client's timeout ends it
  }
  const reply = () => {
    const left = opts.flaky.get(date) || 0;
    if (opts.fail.has(date) || left > 0) {
      if (left > 0) opts.flaky.set(date, left - 1);
      done();
      answer(res, 500, {error: `no calendar for ${date} right now`});
      return;
    }
    const events = [];
    for (let k = 1; k <= opts.events; k++) {
      events.push({id: `${date}-${k}`, date, title: `event ${k} on ${date}`});
    }
    done();
    answer(res, 200, {events});
  };
  if (opts.gate > 0) {
    gated.push(() => setTimeout(reply, opts.slow));
    if (inFlight >= opts.gate) openGate();
    else setTimeout(openGate, 3000);
  } else {
    setTimeout(reply, opts.slow);
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
