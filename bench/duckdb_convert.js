#!/usr/bin/env node
// The DuckDB peer of the JSONL -> CSV and JSONL -> Parquet benchmarks: one
// COPY of the generated orders file into CSV, or into snappy Parquet when
// OUT ends in .parquet, in an in-memory database.
//
// usage: node bench/duckdb_convert.js IN.jsonl OUT.csv|OUT.parquet [THREADS|default]
//
// For Parquet, created_at is read as TIMESTAMP (sluice casts it to a
// timestamp too), so both files hold the same types.
//
// Columns are given explicitly so DuckDB spends no time sampling the file
// for types, and the types are the natural ones for gen_orders.js's data.
// created_at stays VARCHAR: as TIMESTAMP DuckDB would parse it and then
// print it back in its own format ("2024-01-01 00:00:00.123456"), work that
// sluice's file sink does not do either.
//
// Prints one line on stdout, e.g.
//   copy_seconds=0.812345 rows=1000000 threads=1 vmhwm_kb=181234
// copy_seconds times only the COPY statement (no node or library start-up),
// so the ratio against sluice's whole-process wall time is strict for sluice.
'use strict';

const fs = require('fs');
const { DuckDBInstance } = require('@duckdb/node-api');

const COLUMNS = "{id: 'BIGINT', customer: 'VARCHAR', amount: 'DOUBLE', qty: 'BIGINT', " +
    "paid: 'BOOLEAN', created_at: 'VARCHAR', note: 'VARCHAR', score: 'DOUBLE'}";

function sqlString(s) {
    return "'" + String(s).replace(/'/g, "''") + "'";
}

function vmhwmKb() {
    try {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
        return m ? Number(m[1]) : 0;
    } catch (e) {
        return 0;
    }
}

async function main() {
    const [input, output, threadsArg = 'default'] = process.argv.slice(2);
    if (!input || !output || !/^(default|[1-9][0-9]*)$/.test(threadsArg)) {
        process.stderr.write('usage: node duckdb_convert.js IN.jsonl OUT.csv [THREADS|default]\n');
        process.exit(2);
    }
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    if (threadsArg !== 'default') {
        await con.run('SET threads = ' + Number(threadsArg));
    }
    const threads = (await (await con.run("SELECT current_setting('threads')")).getRows())[0][0];

    const parquet = output.endsWith('.parquet');
    const columns = parquet ? COLUMNS.replace("created_at: 'VARCHAR'", "created_at: 'TIMESTAMP'")
                            : COLUMNS;
    const sql = 'COPY (SELECT * FROM read_json(' + sqlString(input) +
        ", format = 'newline_delimited', columns = " + columns + ')) TO ' +
        sqlString(output) +
        (parquet ? ' (FORMAT parquet, COMPRESSION snappy)' : ' (FORMAT csv, HEADER)');
    const t0 = process.hrtime.bigint();
    const res = await con.run(sql);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const rows = res.rowsChanged;
    con.closeSync();
    db.closeSync();
    process.stdout.write('copy_seconds=' + secs.toFixed(6) + ' rows=' + rows + ' threads=' +
        threads + ' vmhwm_kb=' + vmhwmKb() + '\n');
}

main().catch((e) => {
    process.stderr.write('duckdb_convert: ' + (e && e.message ? e.message : e) + '\n');
    process.exit(1);
});
