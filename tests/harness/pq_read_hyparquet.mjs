// Reads a Parquet file with hyparquet (a pure JavaScript reader) and prints
// its rows as JSON, one row per line. Used by the Parquet writer's unit
// tests as a second independent reader.
//
//   node tests/harness/pq_read_hyparquet.mjs FILE          rows
//   node tests/harness/pq_read_hyparquet.mjs --meta FILE   the decoded footer
//
// Raw values are kept exact: 64-bit integers and timestamps (microseconds)
// print as strings, dates as day numbers, BINARY as "0x" hex. GZIP pages
// are inflated with node's zlib (hyparquet handles snappy itself; it has no
// zstd).
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const hyparquet = await import(path.join(here, '..', 'node_modules', 'hyparquet', 'src', 'node.js'));

function replacer(key, value) {
    if (typeof value === 'bigint') {
        return value.toString();
    }
    if (value instanceof Uint8Array) {
        return '0x' + Buffer.from(value).toString('hex');
    }
    if (value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)) {
        return '0x' + Buffer.from(value.data).toString('hex');
    }
    return value;
}

const args = process.argv.slice(2);
const meta = args[0] === '--meta';
const file = meta ? args[1] : args[0];
if (!file) {
    console.error('usage: pq_read_hyparquet.mjs [--meta] FILE');
    process.exit(2);
}
try {
    const buf = await hyparquet.asyncBufferFromFile(file);
    if (meta) {
        const md = await hyparquet.parquetMetadataAsync(buf);
        process.stdout.write(JSON.stringify(md, replacer) + '\n');
    } else {
        const rows = await hyparquet.parquetReadObjects({
            file: buf,
            utf8: false,
            compressors: { GZIP: (input) => new Uint8Array(gunzipSync(input)) },
            parsers: {
                timestampFromMicroseconds: (u) => u,
                timestampFromMilliseconds: (u) => u,
                timestampFromNanoseconds: (u) => u,
                dateFromDays: (d) => d,
                stringFromBytes: (b) => b && new TextDecoder().decode(b),
                jsonFromBytes: (b) => b && JSON.parse(new TextDecoder().decode(b)),
            },
        });
        process.stdout.write(rows.map((r) => JSON.stringify(r, replacer) + '\n').join(''));
    }
} catch (e) {
    console.error(String(e && e.message ? e.message : e));
    process.exit(1);
}
