#!/usr/bin/env node
// Prints "rows BYTES" for the Parquet files under a folder (or one file):
// the row count read by DuckDB and the total size on disk, for the
// benchmark's checks and its output-size ratio.
'use strict';
const fs = require('fs');
const path = require('path');
const { DuckDBInstance } = require('@duckdb/node-api');

function files(p) {
    const st = fs.statSync(p);
    if (!st.isDirectory()) {
        return [p];
    }
    return fs.readdirSync(p).flatMap((n) => files(path.join(p, n)))
        .filter((f) => f.endsWith('.parquet'));
}

async function main() {
    const list = files(process.argv[2]);
    const bytes = list.reduce((n, f) => n + fs.statSync(f).size, 0);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const glob = list.map((f) => "'" + f.replace(/'/g, "''") + "'").join(', ');
    const rows = list.length === 0 ? 0 : (await (await con.run(
        'SELECT count(*) FROM read_parquet([' + glob + '])')).getRows())[0][0];
    process.stdout.write(String(rows) + ' ' + bytes + '\n');
}
main().catch((e) => {
    process.stderr.write('count_parquet: ' + e.message + '\n');
    process.exit(1);
});
