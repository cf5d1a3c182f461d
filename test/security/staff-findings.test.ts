// Regression tests for findings 1, 4 and 6 of the independent attack (issue 15): each failed on the
// code before its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent } from '../helpers/agent.js';
import { createStaff, seedAccounts, staffAgent, STAFF_PASSWORD } from '../helpers/staff.js';
import { STAFF_FAILURES_PER_ADDRESS } from '../../src/staff/sign-in.js';

test('concurrent staff sign-ins for one address never check more than 5 passwords, and failures stay on record (finding 1)', async (t) => {
  const { app } = await build(t);
  await createStaff(app.services, 'ewa@wsparcie.example', 'admin');
  const a = new Agent(app);
  await a.get('/staff/login');
  // Eleven wrong passwords and the right one last, all at once.
  const forms = [...Array.from({ length: 11 }, (_, i) => ({ email: 'ewa@wsparcie.example', password: `zle-haslo-${i}-xx` })), { email: 'ewa@wsparcie.example', password: STAFF_PASSWORD }];
  const answers = await Promise.all(forms.map((f) => a.post('/staff/login', f)));
  const statuses = answers.map((r) => r.statusCode);
  const checked = statuses.filter((s) => s === 401 || s === 303).length;
  assert.ok(checked <= STAFF_FAILURES_PER_ADDRESS, `passwords checked: ${checked} (${statuses.join(' ')})`);
  assert.equal(statuses.filter((s) => s === 429).length, forms.length - checked, 'the rest wait');
  assert.ok(statuses.every((s) => [401, 303, 429].includes(s)), statuses.join(' '));
  const since = new Date(Date.now() - 15 * 60_000);
  assert.ok(app.services.repos.staff.failuresSince('ewa@wsparcie.example', since).n >= checked - (statuses.includes(303) ? 1 : 0), 'failures stay on record');

  // A success does not wipe earlier failures: four failures, then the right password, then one more failure locks.
  await createStaff(app.services, 'adam@wsparcie.example', 'viewer');
  const b = new Agent(app);
  await b.get('/staff/login');
  for (let i = 0; i < 4; i++) assert.equal((await b.post('/staff/login', { email: 'adam@wsparcie.example', password: `zle-${i}-haslo-xx` })).statusCode, 401);
  assert.equal((await b.post('/staff/login', { email: 'adam@wsparcie.example', password: STAFF_PASSWORD })).statusCode, 303);
  assert.equal(app.services.repos.staff.failuresSince('adam@wsparcie.example', since).n, 4, 'the successful attempt is not a failure; the four are kept');
});

test('a return address outside Latin-1 never gives a 5xx: staff and seller sign-in send it percent-encoded (finding 4)', async (t) => {
  const { app } = await build(t);
  await createStaff(app.services, 'ewa@wsparcie.example', 'viewer');
  const a = new Agent(app);
  const page = await a.get('/staff/login?next=/staff/%C4%85');
  assert.equal(page.statusCode, 200);
  const res = await a.post('/staff/login', { email: 'ewa@wsparcie.example', password: STAFF_PASSWORD, next: '/staff/ą' });
  assert.equal(res.statusCode, 303, res.body.slice(0, 200));
  assert.equal(res.headers.location, '/staff/%C4%85');

  const [row] = seedAccounts(app.services, [{ name: 'Jan', email: 'jan@gmail.com', mailbox: 'jan@gmail.com' }]);
  const seller = new Agent(app);
  const token = app.services.repos.loginTokens.issue(row!.sellerId, 30 * 60_000);
  await seller.get(`/login/verify?token=${encodeURIComponent(token)}&next=${encodeURIComponent('/migration?q=żółw')}`);
  const signedIn = await seller.post('/login/verify', { token, next: '/migration?q=żółw' });
  assert.equal(signedIn.statusCode, 303, signedIn.body.slice(0, 200));
  assert.equal(signedIn.headers.location, '/migration?q=%C5%BC%C3%B3%C5%82w');
});

test('disabling a staff account ends its sessions: enabling it again does not bring an old cookie back (finding 6)', async (t) => {
  const { app } = await build(t);
  const admin = await staffAgent(app, 'admin');
  const viewer = await staffAgent(app, 'viewer');
  assert.equal((await viewer.get('/staff')).statusCode, 200);
  const id = app.services.repos.staff.findByEmail('viewer@wsparcie.example')!.id;
  await admin.get('/staff/users');
  assert.equal((await admin.post(`/staff/users/${id}`, { disabled: '1' })).statusCode, 303);
  assert.equal((await viewer.get('/staff')).statusCode, 303, 'signed out while disabled');
  await admin.get('/staff/users');
  assert.equal((await admin.post(`/staff/users/${id}`, { disabled: '0' })).statusCode, 303);
  const again = await viewer.get('/staff');
  assert.equal(again.statusCode, 303, 'the old cookie stays dead after enabling');
  assert.match(again.headers.location as string, /^\/staff\/login/);
});
