// The decimal table test: every decimal(p,s) with 1 <= p <= 38 and
// 0 <= s <= p, at its boundaries, written by sluice's lake sink and read
// back by DuckDB value by value. Expected values are computed here with
// BigInt, independently of sluice.
//
//   node tests/harness/decimal_table.js gen DIR
//       writes DIR/in.jsonl (records) and DIR/schema.txt (the lake
//       sink's schema as a YAML flow map)
//   node tests/harness/decimal_table.js check DIR PARQUET REJECTS
//       checks the file's column types and every value, and that every
//       record expected to be rejected is in REJECTS with its reason;
//       prints "checked N values, M rejects" or the first differences
//       and exits 1
'use strict';
const fs = require('fs');
const path = require('path');

const TEN = 10n;
const pow10 = (k) => TEN ** BigInt(k);

// decimal text of unscaled u at scale s, as DuckDB prints it
function text(u, s) {
    const neg = u < 0n;
    let d = (neg ? -u : u).toString();
    if (s > 0) {
        d = d.padStart(s + 1, '0');
        d = d.slice(0, d.length - s) + '.' + d.slice(d.length - s);
    }
    return (neg ? '-' : '') + d;
}

function columns() {
    const cols = [];
    for (let p = 1; p <= 38; p++) {
        for (let s = 0; s <= p; s++) {
            cols.push({ p, s, name: `d${p}_${s}` });
        }
    }
    return cols;
}

// JSON text of a number (not quoted) or a string (quoted)
const num = (t) => ({ json: t });
const str = (t) => ({ json: JSON.stringify(t) });

// Cases that fit every column, as (column) => [json value, unscaled]
const FITTING = {
    max_num: (c) => [num(text(pow10(c.p) - 1n, c.s)), pow10(c.p) - 1n],
    max_str: (c) => [str(text(pow10(c.p) - 1n, c.s)), pow10(c.p) - 1n],
    min_num: (c) => [num(text(1n - pow10(c.p), c.s)), 1n - pow10(c.p)],
    min_str: (c) => [str(text(1n - pow10(c.p), c.s)), 1n - pow10(c.p)],
    zero_int: () => [num('0'), 0n],
    neg_zero_str: (c) => [str('-0.' + '0'.repeat(c.s + 3)), 0n],
    unit: (c) => [num(text(1n, c.s)), 1n],
    neg_unit_str: (c) => [str(text(-1n, c.s)), -1n],
    trailing_zeros: (c) => [str(text(pow10(c.p) - 1n, c.s) + (c.s ? '' : '.') + '000'), pow10(c.p) - 1n],
    exponent: (c) => [num(`${pow10(c.p) - 1n}e-${c.s}`), pow10(c.p) - 1n],
    exponent_str: (c) => [str(`-1E-${c.s}`), -1n],
    int_max: (c) => (c.p > c.s ? [num((pow10(c.p - c.s) - 1n).toString()), (pow10(c.p - c.s) - 1n) * pow10(c.s)] : [num('0'), 0n]),
    int_min: (c) => (c.p > c.s ? [num((1n - pow10(c.p - c.s)).toString()), (1n - pow10(c.p - c.s)) * pow10(c.s)] : [num('-0'), 0n]),
};

// Cases for one column at a time: [json value, unscaled] or [json value, reason]
const DIGITS = 'too many digits for the precision';
const FRACTION = 'more fraction digits than the scale';
function intCase(c, i) {
    const digits = (i < 0n ? -i : i).toString().length;
    return digits <= c.p - c.s ? [num(i.toString()), i * pow10(c.s)] : [num(i.toString()), DIGITS];
}
const SINGLE = {
    beyond_num: (c) => [num(text(pow10(c.p), c.s)), DIGITS],
    beyond_str: (c) => [str(text(pow10(c.p), c.s)), DIGITS],
    neg_beyond_num: (c) => [num(text(-pow10(c.p), c.s)), DIGITS],
    fraction_str: (c) => [str(text(pow10(c.p) - 1n, c.s) + (c.s ? '' : '.') + '1'), FRACTION],
    fraction_num: (c) => [num(`1e-${c.s + 1}`), FRACTION],
    int_beyond: (c) => [num(pow10(c.p - c.s).toString()), DIGITS],
    int_1e9: (c) => intCase(c, 1000000000n),
    int_neg_18_digits: (c) => intCase(c, -170141183460469231n),
    int64_min: (c) => intCase(c, -9223372036854775808n),
};

function cases() {
    const cols = columns();
    const rows = [];
    let id = 0;
    for (const [kind, f] of Object.entries(FITTING)) {
        const vals = cols.map((c) => f(c));
        rows.push({ id: ++id, kind, cols: cols.map((c, k) => ({ c, json: vals[k][0].json, want: vals[k][1] })) });
    }
    for (const [kind, f] of Object.entries(SINGLE)) {
        for (const c of cols) {
            const [v, want] = f(c);
            rows.push({ id: ++id, kind, cols: [{ c, json: v.json, want }] });
        }
    }
    return rows;
}

function gen(dir) {
    const rows = cases();
    const lines = rows.map((r) => `{"id":${r.id}` + r.cols.map((x) => `,"${x.c.name}":${x.json}`).join('') + '}');
    fs.writeFileSync(path.join(dir, 'in.jsonl'), lines.join('\n') + '\n');
    const schema = ['id: int64 not null'].concat(columns().map((c) => `${c.name}: "decimal(${c.p},${c.s})"`));
    fs.writeFileSync(path.join(dir, 'schema.txt'), '{' + schema.join(', ') + '}');
}

async function check(dir, file, rejectsFile) {
    const { DuckDBInstance } = require(path.join(__dirname, '..', 'node_modules', '@duckdb', 'node-api'));
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await db.connect();
    const lit = "'" + file.replace(/'/g, "''") + "'";
    const errors = [];
    const cols = columns();

    const types = new Map();
    for (const r of (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit})`)).getRowObjectsJson()) {
        types.set(r.column_name, r.column_type);
    }
    for (const c of cols) {
        const want = `DECIMAL(${c.p},${c.s})`;
        if (types.get(c.name) !== want) errors.push(`${c.name}: type ${types.get(c.name)}, want ${want}`);
    }

    const got = new Map();
    const q = `SELECT * FROM read_parquet(${lit}) ORDER BY id`;
    for (const r of (await conn.runAndReadAll(q)).getRowObjectsJson()) got.set(Number(r.id), r);

    const rejected = new Map();
    for (const line of fs.readFileSync(rejectsFile, 'utf8').split('\n')) {
        if (!line) continue;
        const r = JSON.parse(line);
        rejected.set(r.line, r.reason);
    }

    let values = 0;
    let rejects = 0;
    for (const row of cases()) {
        const reason = row.cols.map((x) => x.want).find((w) => typeof w === 'string');
        const line = row.id; // one record per line, ids from 1
        if (reason) {
            rejects++;
            const x = row.cols[0];
            const why = rejected.get(line);
            const wantWhy = `lake: field '${x.c.name}': expected decimal(${x.c.p},${x.c.s}), got`;
            if (got.has(row.id)) errors.push(`${row.kind} ${x.c.name} ${x.json}: written, want rejected (${reason})`);
            else if (!why || !why.startsWith(wantWhy) || !why.endsWith(`(${reason})`)) {
                errors.push(`${row.kind} ${x.c.name} ${x.json}: rejects reason '${why}', want '${wantWhy} ... (${reason})'`);
            }
            continue;
        }
        const r = got.get(row.id);
        if (!r) {
            errors.push(`${row.kind}: row ${row.id} missing (rejected: ${rejected.get(line)})`);
            continue;
        }
        for (const x of row.cols) {
            values++;
            const want = text(x.want, x.c.s);
            if (r[x.c.name] !== want) errors.push(`${row.kind} ${x.c.name} ${x.json}: read ${r[x.c.name]}, want ${want}`);
        }
    }
    if (got.size + rejects !== cases().length) errors.push(`${got.size} rows read + ${rejects} rejected != ${cases().length}`);
    if (rejected.size !== rejects) errors.push(`${rejected.size} lines in rejects, want ${rejects}`);
    if (errors.length) {
        console.log(`${errors.length} differences:\n` + errors.slice(0, 40).join('\n'));
        process.exit(1);
    }
    console.log(`checked ${values} values, ${rejects} rejects`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'gen') gen(args[0]);
else if (cmd === 'check') {
    check(...args).catch((e) => {
        console.error(String(e && e.message ? e.message : e));
        process.exit(1);
    });
} else {
    console.error('usage: decimal_table.js gen DIR | check DIR PARQUET REJECTS');
    process.exit(2);
}
