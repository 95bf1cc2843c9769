#!/usr/bin/env node
// Deterministic generator of the benchmark input: N order records as JSONL
// and the same records as CSV (RFC 4180, header row, null as empty field).
//
// usage: node bench/gen_orders.js N OUT.jsonl OUT.csv [SEED]
//
// The data is meant to exercise a JSON parser the way real exports do:
// escaped quotes and backslashes, \n inside strings, raw UTF-8 ("Zürich"),
// emoji written as surrogate-pair escapes (\ud83d\ude00), floats in plain
// and exponent form, booleans, nulls, and ISO timestamps with microseconds.
// Lines average about 160 bytes. The same seed always gives the same bytes,
// so numbers from different machines and runs compare.
'use strict';

const fs = require('fs');

const n = Number(process.argv[2] || 1000000);
const jsonlPath = process.argv[3];
const csvPath = process.argv[4];
const seed = Number(process.argv[5] || 20261122) >>> 0;
if (!Number.isInteger(n) || n < 0 || !jsonlPath || !csvPath) {
    process.stderr.write('usage: node gen_orders.js N OUT.jsonl OUT.csv [SEED]\n');
    process.exit(2);
}

// mulberry32: small, fast, and good enough to make varied test data.
let st = seed;
function rnd() {
    st = (st + 0x6d2b79f5) >>> 0;
    let t = st;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function ri(lo, hi) { // integer in [lo, hi]
    return lo + Math.floor(rnd() * (hi - lo + 1));
}
function pick(arr) {
    return arr[Math.floor(rnd() * arr.length)];
}

const FIRST = ['Anna', 'Ben', 'Chloé', 'David', 'Eva', 'François', 'Grete', 'Hiro', 'Inès',
    'Jörg', 'Kai', 'Lena', 'Mateo', 'Nora', 'Oskar', 'Paula', 'Quinn', 'Rosa', 'Søren',
    'Tomás', 'Ulla', 'Viktor', 'Wen', 'Ximena', 'Yusuf', 'Zoë'];
const LAST = ['Müller', 'Smith', 'García', 'Nguyen', 'Kowalski', "O'Brien", 'Johansson',
    'Rossi', 'Dubois', 'Tanaka', 'Novák', 'Schmidt', 'Silva', 'Øberg', 'Łukasik', 'Brown'];
const CITY = ['Zürich', 'Berlin', 'São Paulo', 'Kraków', 'Reykjavík', 'Lyon', 'Tokyo',
    'New York', 'Málaga', 'Göteborg', 'Austin', 'Dublin'];
const NOTE = ['leave at door', 'call before delivery', 'gift wrap, no invoice',
    'fragile: glass', 'use side entrance', 'ship with order 42', 'deliver after 6pm',
    'customer says "urgent"', 'path C:\\orders\\in', 'line one\nline two', 'tab\there',
    'thanks 😀', 'ñandú & café', 'comma, separated, text'];
const EMOJI = '😀';
const EMOJI_ESC = '\\ud83d\\ude00';

function customer(i) {
    const k = i % 10;
    const name = pick(FIRST) + ' ' + pick(LAST);
    if (k === 3) {
        return name + ' "' + pick(CITY) + '"'; // embedded quotes
    }
    if (k === 7) {
        return name + ' ' + EMOJI; // written as \u escapes in JSON
    }
    if (k === 9) {
        return pick(CITY) + '\\' + name; // a backslash
    }
    if (k === 6 || k === 8) {
        return name + ', ' + pick(CITY); // a comma: quoted in CSV
    }
    return name;
}

// Text of a JSON string literal for s. JSON.stringify escapes quotes,
// backslashes and control characters; emoji are turned into escapes on
// purpose so the reader must join surrogate pairs.
function jstr(s) {
    const j = JSON.stringify(s);
    return j.indexOf(EMOJI) >= 0 ? j.split(EMOJI).join(EMOJI_ESC) : j;
}

// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
function cstr(s) {
    if (/[",\r\n]/.test(s)) {
        return '"' + s.replace(/"/g, '""') + '"';
    }
    return s;
}

function pad(v, w) {
    return String(v).padStart(w, '0');
}

const T0 = Date.UTC(2024, 0, 1) / 1000; // seconds
function timestamp() {
    const secs = T0 + ri(0, 365 * 86400 - 1);
    const d = new Date(secs * 1000);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1, 2) + '-' +
        pad(d.getUTCDate(), 2) + 'T' + pad(d.getUTCHours(), 2) + ':' +
        pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) + '.' +
        pad(ri(0, 999999), 6) + 'Z';
}

// Score as JSON number text: mostly plain decimals, one in eight in
// exponent form (both e-07 style and E+5 style).
function score() {
    const r = rnd();
    if (r < 0.0625) {
        return (ri(1000, 9999) / 1000) + 'e-' + pad(ri(1, 12), 2);
    }
    if (r < 0.125) {
        return (ri(1000, 9999) / 1000) + 'E+' + ri(3, 9);
    }
    if (r < 0.15) {
        return '-' + (ri(1, 9999) / 10000).toFixed(4);
    }
    return (ri(1, 999999) / 10000).toFixed(4);
}

const jfd = fs.openSync(jsonlPath, 'w');
const cfd = fs.openSync(csvPath, 'w');
let jbuf = [];
let cbuf = [];
let pending = 0;
let jbytes = 0;
function flush() {
    const jt = jbuf.join('');
    const ct = cbuf.join('');
    jbytes += Buffer.byteLength(jt);
    fs.writeSync(jfd, jt);
    fs.writeSync(cfd, ct);
    jbuf = [];
    cbuf = [];
    pending = 0;
}

cbuf.push('id,customer,amount,qty,paid,created_at,note,score\n');
for (let i = 1; i <= n; i++) {
    const id = 1000000 + i;
    const cust = customer(i);
    const amount = (ri(1, 2000000) / 100).toFixed(2);
    const qty = ri(1, 20);
    const paid = rnd() < 0.7 ? 'true' : 'false';
    const ts = timestamp();
    const note = rnd() < 0.45 ? null : pick(NOTE) + ' #' + ri(1, 999);
    const sc = score();
    jbuf.push('{"id":' + id + ',"customer":' + jstr(cust) + ',"amount":' + amount +
        ',"qty":' + qty + ',"paid":' + paid + ',"created_at":"' + ts + '","note":' +
        (note === null ? 'null' : jstr(note)) + ',"score":' + sc + '}\n');
    cbuf.push(id + ',' + cstr(cust) + ',' + amount + ',' + qty + ',' + paid + ',' + ts + ',' +
        (note === null ? '' : cstr(note)) + ',' + sc + '\n');
    if (++pending === 20000) {
        flush();
    }
}
flush();
fs.closeSync(jfd);
fs.closeSync(cfd);
process.stderr.write('gen_orders: ' + n + ' rows, ' + (n ? (jbytes / n).toFixed(1) : 0) +
    ' bytes/line JSONL\n');
