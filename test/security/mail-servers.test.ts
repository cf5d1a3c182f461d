import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { importCsv, IMPORT_COLUMNS } from '../../src/import/import.js';
import { securityFixture } from '../helpers/security.js';
import { confirmationKeyOf, seedAccounts, waitForJob } from '../helpers/staff.js';
import { freePort } from '../helpers/ports.js';

/** A TCP listener on loopback that counts the connections it is offered (and answers none). */
async function countingListener(t: TestContext) {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => {
    sockets.forEach((s) => s.destroy());
    server.close();
  });
  return { port: (server.address() as { port: number }).port, connections: () => sockets.length };
}

test('the import refuses mail servers on loopback, private, link-local and metadata addresses, and ports outside the list', async (t) => {
  const { app } = await securityFixture(t);
  const row = (n: number, host: string, port: number) => `S${n},s${n}@gmail.com,S${n},s${n},AR${n},2,s${n}@gmail.com,${host},${port},smtp.gmail.com,465,Haslo-${n}`;
  const file = [IMPORT_COLUMNS.join(','), row(1, '127.0.0.1', 993), row(2, '10.0.0.5', 993), row(3, '169.254.169.254', 993), row(4, '172.16.0.1', 993), row(5, 'imap.gmail.com', 22), row(6, 'imap.gmail.com', 993)].join('\n');
  const r = await importCsv(file, app.services, { actor: { type: 'cli', id: 'import' } });
  assert.deepEqual(r.problems.map((p) => `${p.line} ${p.column}`), ['2 imap_host', '3 imap_host', '4 imap_host', '5 imap_host', '6 imap_port']);
  assert.equal(r.imported, 1);
  for (const n of [1, 2, 3, 4, 5]) assert.equal(app.services.repos.sellers.findByExternalId(`S${n}`), undefined, `row ${n} left nothing behind`);
});

test('a staff re-check, one or bulk, never connects to a refused mail server, and answers the same whether its port is open or closed', async (t) => {
  const listener = await countingListener(t);
  const closed = await freePort();
  // The ports are allowed, so what refuses loopback is the address rule; MAIL_ADDRESS_ALLOWLIST is not set.
  const { app, client } = await securityFixture(t, { MAIL_PORT_ALLOWLIST: `993,${listener.port},${closed}`, MAIL_CHECK_TIMEOUT_MS: '1000', BULK_RETRY_BASE_MS: '1' });
  const s = app.services;
  // Rows as an import made them before the policy existed, or as someone wrote them into the database.
  const targets = [
    { host: '127.0.0.1', port: listener.port, what: 'loopback, open port' },
    { host: '127.0.0.1', port: closed, what: 'loopback, closed port' },
    { host: 'localhost', port: listener.port, what: 'a name that resolves to loopback' },
    { host: '169.254.169.254', port: 993, what: 'the cloud metadata address' },
    { host: 'imap.gmail.com', port: 22, what: 'a port outside MAIL_PORT_ALLOWLIST' },
  ];
  const rows = seedAccounts(
    s,
    targets.map((x, i) => ({ name: `Cel ${i}`, email: `cel${i}@gmail.com`, mailbox: `cel${i}@gmail.com`, imapHost: x.host, imapPort: x.port, secret: `Haslo-Celu-${i}`, secretKind: 'app_password' as const })),
  );
  const lastCode = (autoresponderId: number) => s.repos.migrations.findByAutoresponder(autoresponderId)!.lastErrorCode;

  const agent = await client('agent');
  for (const [i, row] of rows.entries()) {
    const res = await agent.post(`/staff/accounts/${row.autoresponderId}/recheck`);
    assert.ok(res.statusCode < 500, `${targets[i]!.what}: ${res.statusCode}`);
    assert.equal(lastCode(row.autoresponderId), 'MAIL_HOST_NOT_ALLOWED', `one re-check, ${targets[i]!.what}`);
  }
  assert.equal(listener.connections(), 0, 'no connection was opened');

  await agent.get('/staff/accounts');
  const confirm = await agent.post('/staff/jobs/confirm', { action: 'recheck', scope: 'all' });
  const count = /name="confirmedCount" value="(\d+)"/.exec(confirm.body)![1]!;
  const started = await agent.post('/staff/jobs', { action: 'recheck', scope: 'all', confirmedCount: count, confirmationKey: confirmationKeyOf(confirm.body) });
  assert.equal(started.statusCode, 303);
  const jobId = Number(/\d+$/.exec(String(started.headers.location))![0]);
  await waitForJob(app, jobId, 60_000);
  const outcomes = Object.fromEntries(s.repos.jobs.outcomes(jobId).map((o) => [`${o.status}:${o.outcome}`, o.n]));
  // The fixture's own seller (a loopback server with a password) is refused too; the other has no password.
  assert.deepEqual(outcomes, { 'failed:MAIL_HOST_NOT_ALLOWED': targets.length + 1, 'skipped:MIG_ERR_NO_SECRET': 1 }, JSON.stringify(outcomes));
  assert.equal(listener.connections(), 0, 'the bulk job opened no connection either');
  const checks = s.db.prepare(`SELECT DISTINCT code FROM connection_checks WHERE mailbox_id IN (${rows.map((r) => r.mailboxId).join(',')})`).pluck().all();
  assert.deepEqual(checks, ['MAIL_HOST_NOT_ALLOWED'], 'every check recorded one code: nothing to tell an open port from a closed one');
});

test("the seller's form refuses an allow-listed server whose address is loopback, unless loopback is allowed explicitly", async (t) => {
  const listener = await countingListener(t);
  for (const allowLoopback of [false, true]) {
    const env: Record<string, string> = { MAIL_HOST_ALLOWLIST: '127.0.0.1', MAIL_PORT_ALLOWLIST: `993,465,${listener.port}`, MAIL_CHECK_TIMEOUT_MS: '500' };
    if (allowLoopback) env.MAIL_ADDRESS_ALLOWLIST = '127.0.0.1';
    const { app, own, client } = await securityFixture(t, env);
    app.services.repos.mailboxes.setDetection(own.mailboxId!, { google: true, provider: 'workspace', rule: 'workspace_mx', detail: null } as never);
    const seller = await client('seller');
    await seller.get(`/mailboxes/${own.mailboxId}/app-password/3`);
    const res = await seller.post(`/mailboxes/${own.mailboxId}/app-password`, { app_password: 'abcd efgh ijkl mnop', imap_host: '127.0.0.1', imap_port: String(listener.port), smtp_host: '127.0.0.1', smtp_port: String(listener.port) });
    assert.equal(res.statusCode, 422);
    if (!allowLoopback) {
      assert.match(res.body, /id="imap_host-error"/, 'the host is refused next to its field');
      assert.equal(listener.connections(), 0, 'and nothing was connected to');
    } else {
      assert.doesNotMatch(res.body, /id="imap_host-error"/);
      assert.ok(listener.connections() > 0, 'allowed explicitly, the check does connect (and times out: nothing answers)');
    }
  }
});
