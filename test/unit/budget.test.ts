import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetOf, MAX_VERIFICATIONS, type LoginRow } from '../../src/checks/budget.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const row = (code: string | null, minutesAgo: number): LoginRow => ({ ok: code === null, code, running: false, at: new Date(NOW - minutesAgo * 60_000).toISOString() });

test("Google's temporary refusals (too many connections, too many logins) do not use up the seller's attempts", () => {
  const temporary = [row('MAIL_TOO_MANY_CONNECTIONS', 1), row('MAIL_TOO_MANY_LOGINS', 2), row('MAIL_TOO_MANY_CONNECTIONS', 3), row('MAIL_TOO_MANY_LOGINS', 4), row('MAIL_TOO_MANY_CONNECTIONS', 5)];
  const b = budgetOf(temporary, NOW);
  assert.equal(b.used, 0);
  assert.equal(b.remaining, MAX_VERIFICATIONS);
  assert.equal(b.exhausted, null);
});

test('a refused password still counts, beside the temporary refusals', () => {
  const b = budgetOf([row('MAIL_TOO_MANY_LOGINS', 1), row('MAIL_AUTH_FAILED', 2), row('MAIL_WEB_LOGIN_REQUIRED', 3)], NOW);
  assert.equal(b.used, 2);
  assert.equal(b.remaining, MAX_VERIFICATIONS - 2);
});
