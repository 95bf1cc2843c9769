// Reads a Parquet file with DuckDB and prints query results as JSON, one
// row per line (DuckDB's lossless JSON forms: BIGINT and DECIMAL as
// strings). Used by the Parquet writer's unit tests as an independent
// reader.
//
//   node tests/harness/pq_read_duckdb.js FILE [SQL ...]
//
// Each SQL may use $F for the file path (as a SQL string literal); without
// SQL the query is SELECT * FROM read_parquet($F). Results of several
// queries are separated by a line "--". The session runs in UTC.
'use strict';
const path = require('path');
const { DuckDBInstance } = require(path.join(__dirname, '..', 'node_modules', '@duckdb', 'node-api'));

async function main() {
    const [file, ...queries] = process.argv.slice(2);
    if (!file) {
        console.error('usage: pq_read_duckdb.js FILE [SQL ...]');
        process.exit(2);
    }
    if (queries.length === 0) {
        queries.push('SELECT * FROM read_parquet($F)');
    }
    const lit = "'" + file.replace(/'/g, "''") + "'";
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    const c = await db.connect();
    await c.run("SET TimeZone = 'UTC'");
    const out = [];
    for (let i = 0; i < queries.length; i++) {
        if (i > 0) {
            out.push('--');
        }
        const reader = await c.runAndReadAll(queries[i].split('$F').join(lit));
        for (const row of reader.getRowObjectsJson()) {
            out.push(JSON.stringify(row));
        }
    }
    process.stdout.write(out.length ? out.join('\n') + '\n' : '');
}

main().catch((e) => {
    console.error(String(e && e.message ? e.message : e));
    process.exit(1);
});
