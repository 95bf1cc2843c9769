// Starts an S3-compatible server (@20minutes/s3rver, which checks SigV4
// signatures) on 127.0.0.1 with a free port, for tests.
//
//   node tests/harness/s3rver.js [--bucket NAME]... [--key ACCESS:SECRET]... [--dir DIR]
//
// Prints "READY <port>" on stdout once listening, then runs until stdin
// closes or SIGTERM/SIGINT, removing its temp folder (unless --dir) on exit.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

// s3rver's continuation tokens use DES, which Node's OpenSSL 3 only has
// in its legacy provider: run again with it enabled.
if (!process.execArgv.includes('--openssl-legacy-provider')) {
  const { spawn } = require('child_process');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', ...process.execArgv, __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => child.kill(sig));
  }
  child.on('exit', (code, signal) => process.exit(code === null ? (signal ? 1 : 0) : code));
  return;
}

const modules = path.join(__dirname, '..', 'node_modules');
const S3rver = require(path.join(modules, '@20minutes', 's3rver'));
const Account = require(path.join(modules, '@20minutes', 's3rver', 'lib', 'models', 'account'));

const buckets = [];
const keys = [];
let dir = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1];
  if (a === '--bucket' && v) {
    buckets.push({ name: v });
    i++;
  } else if (a === '--key' && v && v.includes(':')) {
    const at = v.indexOf(':');
    keys.push([v.slice(0, at), v.slice(at + 1)]);
    i++;
  } else if (a === '--dir' && v) {
    dir = v;
    i++;
  } else {
    process.stderr.write(`s3rver.js: unknown argument ${a}\n`);
    process.exit(2);
  }
}

const ownDir = !dir;
if (ownDir) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-s3rver-'));
}
for (const [ak, sk] of keys) {
  Account.DUMMY_ACCOUNT.createKeyPair(ak, sk);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dir,
  silent: true,
  vhostBuckets: false,
  configureBuckets: buckets,
});

let stopping = false;
function stop(code) {
  if (stopping) {
    return;
  }
  stopping = true;
  const done = () => {
    if (ownDir) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    process.exit(code);
  };
  if (server.httpServer) {
    server.httpServer.closeAllConnections && server.httpServer.closeAllConnections();
    server.close().then(done, done);
  } else {
    done();
  }
}

server.run().then(
  (addr) => {
    process.stdout.write(`READY ${addr.port}\n`);
  },
  (err) => {
    process.stderr.write(`s3rver.js: cannot start: ${err && err.stack ? err.stack : err}\n`);
    stop(1);
  },
);

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('close', () => stop(0));
process.stdin.resume();
