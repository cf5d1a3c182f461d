import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { SHARED_SPEC_FILE, SPEC_FILE, operationFor } from '../helpers/contract.js';

test('the repository copy of Allegro\'s spec is the shared one, and holds the operations the app uses', (t) => {
  const copy = readFileSync(SPEC_FILE, 'utf8');
  if (existsSync(SHARED_SPEC_FILE)) assert.equal(copy, readFileSync(SHARED_SPEC_FILE, 'utf8'), 'test/contract/ must be refreshed from ../shared/allegro/');
  else t.diagnostic('../shared/allegro/ is not beside this clone; only the copy was checked');
  for (const [method, route] of [['GET', '/me'], ['GET', '/messaging/threads'], ['GET', '/messaging/threads/:threadId/messages'], ['POST', '/messaging/threads/:threadId/messages']]) {
    assert.ok(operationFor(method!, route!), `${method} ${route} is in the spec`);
  }
});
