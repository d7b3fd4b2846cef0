// Refloop deployed as the README says, for deploy.spec.ts: the one file from `make dist`
// copied alone into an empty folder and started with the settings of deploy/refloop.service
// (its Environment= lines and ExecStart=, the state directory and addresses moved to this
// run's), behind Debian's caddy running deploy/Caddyfile with TLS from Caddy's internal CA.
// Usage: node deployed.mjs HTTPS_PORT UPSTREAM_PORT. Stops both on SIGTERM or SIGINT.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [httpsPort, upstreamPort] = process.argv.slice(2);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = mkdtempSync(join(tmpdir(), 'refloop-deployed-'));

// The unit's settings, as systemd would pass them.
const unit = readFileSync(join(repo, 'deploy', 'refloop.service'), 'utf8');
const lines = unit.split('\n').map((l) => l.trim());
const value = (key) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
const stateDir = `/var/lib/${value('StateDirectory')[0]}`;
const state = join(run, 'state');
mkdirSync(state, { mode: 0o700 });
const env = { PATH: process.env.PATH };
for (const assignment of value('Environment')) {
  const at = assignment.indexOf('=');
  env[assignment.slice(0, at)] = assignment.slice(at + 1).replaceAll(stateDir, state);
}
env.LEPTOS_SITE_ADDR = `127.0.0.1:${upstreamPort}`;
env.REFLOOP_PUBLIC_URL = `https://localhost:${httpsPort}`;
env.RUST_LOG = 'warn';

// The binary alone in an empty folder: no site folder beside it, nothing else.
const bin = join(run, 'bin');
mkdirSync(bin);
copyFileSync(process.env.REFLOOP_BIN ?? join(repo, 'dist', 'refloop'), join(bin, 'refloop'));
const [, ...args] = value('ExecStart')[0].split(/\s+/);
const refloop = spawn(join(bin, 'refloop'), args, { cwd: bin, env, stdio: 'inherit' });

// Caddy with deploy/Caddyfile, plus what a test run needs: no admin endpoint, its own storage,
// no redirect listener on port 80 and no change to the system's trust store. The browser, on
// this machine, is the proxy in front of Caddy (a CDN) that the Caddyfile trusts by default.
const caddyfile = join(run, 'Caddyfile');
writeFileSync(
  caddyfile,
  `{
\tadmin off
\tskip_install_trust
\tauto_https disable_redirects
\tstorage file_system ${join(run, 'caddy')}
}
import ${join(repo, 'deploy', 'Caddyfile')}
`,
);
const caddy = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
  env: {
    PATH: process.env.PATH,
    HOME: run,
    REFLOOP_DOMAIN: `https://localhost:${httpsPort}`,
    REFLOOP_UPSTREAM: `127.0.0.1:${upstreamPort}`,
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
// Caddy logs every request at info level; only what went wrong is passed on.
caddy.stderr.on('data', (chunk) => {
  for (const line of chunk.toString().split('\n')) {
    if (line && !/"level":"(info|debug|warn)"/.test(line)) process.stderr.write(`${line}\n`);
  }
});

const stop = () => {
  refloop.kill('SIGTERM');
  caddy.kill('SIGTERM');
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
for (const [name, child] of [['refloop', refloop], ['caddy', caddy]]) {
  child.on('exit', (code, signal) => {
    if (signal === null && code !== 0) {
      console.error(`${name} exited with ${code}`);
      stop();
      process.exit(1);
    }
  });
}
