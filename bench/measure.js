#!/usr/bin/env node
// Fallback of measure.sh for machines without GNU time: runs CMD with a
// timeout, measures wall time, and polls /proc/PID/status for VmHWM (the
// kernel's peak-RSS mark, so only growth in the last few milliseconds
// before exit can be missed).
//
// usage: node bench/measure.js RESULT_FILE TIMEOUT_SECONDS CMD [ARGS...]
// Writes "WALL_SECONDS PEAK_RSS_KB EXIT_CODE" to RESULT_FILE.
'use strict';

const fs = require('fs');
const { spawn } = require('child_process');

const [out, tmo, cmd, ...args] = process.argv.slice(2);
let peak = 0;
const t0 = process.hrtime.bigint();
const child = spawn(cmd, args, { stdio: 'inherit' });

function poll() {
    try {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/' + child.pid + '/status', 'utf8'));
        if (m) {
            peak = Math.max(peak, Number(m[1]));
        }
    } catch (e) {
        // gone already
    }
}
const poller = setInterval(poll, 5);
let timedOut = false;
const killer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
}, Number(tmo) * 1000);

function finish(rc) {
    clearInterval(poller);
    clearTimeout(killer);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.writeFileSync(out, secs.toFixed(3) + ' ' + peak + ' ' + rc + '\n');
}
child.on('error', () => finish(127));
child.on('exit', (code, sig) => {
    poll();
    finish(timedOut ? 124 : (code !== null ? code : 128 + (sig === 'SIGKILL' ? 9 : 15)));
});
