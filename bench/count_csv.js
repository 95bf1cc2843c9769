#!/usr/bin/env node
// Counts the data records of an RFC 4180 CSV file with a header row, and
// checks that every record has as many fields as the header. Quoted fields
// may hold newlines (gen_orders.js writes some), so `wc -l` would not do.
//
// usage: node bench/count_csv.js FILE.csv
// Prints the record count (header excluded) on stdout; exits 1 with a
// message naming the first bad record when field counts differ.
'use strict';

const fs = require('fs');

const path = process.argv[2];
if (!path) {
    process.stderr.write('usage: node count_csv.js FILE.csv\n');
    process.exit(2);
}
const fd = fs.openSync(path, 'r');
const buf = Buffer.allocUnsafe(1 << 22);
const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
let inQuote = false;
let fields = 1;
let headerFields = -1;
let records = 0; // including the header
let atRecordStart = true;
let bad = null;
let got;
while ((got = fs.readSync(fd, buf, 0, buf.length, null)) > 0) {
    for (let i = 0; i < got; i++) {
        const c = buf[i];
        if (inQuote) {
            // "" inside a quoted field toggles twice: no net change.
            if (c === QUOTE) {
                inQuote = false;
            }
            continue;
        }
        if (c === QUOTE) {
            inQuote = true;
            atRecordStart = false;
        } else if (c === COMMA) {
            fields++;
            atRecordStart = false;
        } else if (c === LF) {
            if (headerFields < 0) {
                headerFields = fields;
            } else if (fields !== headerFields && bad === null) {
                bad = 'record ' + records + ' has ' + fields + ' fields, header has ' +
                    headerFields;
            }
            records++;
            fields = 1;
            atRecordStart = true;
        } else if (c !== CR) {
            atRecordStart = false;
        }
    }
}
fs.closeSync(fd);
if (!atRecordStart) { // last record without a final newline
    records++;
    if (headerFields >= 0 && fields !== headerFields && bad === null) {
        bad = 'last record has ' + fields + ' fields, header has ' + headerFields;
    }
}
if (inQuote) {
    bad = bad || 'file ends inside a quoted field';
}
process.stdout.write(String(Math.max(records - 1, 0)) + '\n');
if (bad) {
    process.stderr.write(path + ': ' + bad + '\n');
    process.exit(1);
}
