import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertTransition,
  AWAITING_SELLER_STATES,
  canTransition,
  MIGRATED_STATES,
  MIGRATION_EVENTS,
  MIGRATION_STATES,
  TRANSITIONS,
} from '../../src/migration/states.js';
import { migErrorCode } from '../../src/errors.js';

test('every event names only known states', () => {
  for (const e of MIGRATION_EVENTS) {
    for (const s of [...TRANSITIONS[e].from, ...TRANSITIONS[e].to]) assert.ok(MIGRATION_STATES.includes(s), `${e}: ${s}`);
  }
});

test('the seller paths are legal end to end', () => {
  assert.doesNotThrow(() => assertTransition({ from: 'affected', event: 'start_v3', to: 'in_progress_v3' }));
  assert.doesNotThrow(() => assertTransition({ from: 'in_progress_v3', event: 'switched_v3', to: 'switched_v3' }));
  assert.doesNotThrow(() => assertTransition({ from: 'affected', event: 'start_app_password', to: 'in_progress_app_password' }));
  assert.doesNotThrow(() => assertTransition({ from: 'in_progress_app_password', event: 'relinked', to: 'relinked_app_password' }));
  assert.doesNotThrow(() => assertTransition({ from: 'relinked_app_password', event: 'relinked', to: 'relinked_app_password' }));
  assert.doesNotThrow(() => assertTransition({ from: 'switched_v3', event: 'switched_back', to: 'affected' }));
});

test('illegal transitions are refused with a stable code', () => {
  const cases = [
    { from: 'affected', event: 'switched_v3', to: 'switched_v3' }, // must start first
    { from: 'not_affected', event: 'start_v3', to: 'in_progress_v3' },
    { from: 'switched_v3', event: 'detected', to: 'affected' }, // detection never undoes a migration
    { from: 'relinked_app_password', event: 'start_v3', to: 'in_progress_v3' },
    { from: 'reviewed', event: 'reviewed', to: 'reviewed' },
    { from: 'affected', event: 'start_v3', to: 'switched_v3' }, // event with a wrong target
  ] as const;
  for (const c of cases) {
    assert.throws(() => assertTransition(c), (err: unknown) => migErrorCode(err) === 'MIG_ERR_ILLEGAL_TRANSITION', JSON.stringify(c));
    assert.equal(canTransition(c.from, c.event, c.to), false);
  }
});

test('needs_attention requires a reason code', () => {
  assert.throws(
    () => assertTransition({ from: 'switched_v3', event: 'needs_attention', to: 'needs_attention' }),
    (err: unknown) => migErrorCode(err) === 'MIG_ERR_TRANSITION_REASON',
  );
  assert.doesNotThrow(() => assertTransition({ from: 'switched_v3', event: 'needs_attention', to: 'needs_attention', reason: 'authorize_again' }));
});

test('reviewed applies where the seller still has something to do; reopening restores any state', () => {
  for (const s of AWAITING_SELLER_STATES) assert.ok(canTransition(s, 'reviewed', 'reviewed'), s);
  for (const s of MIGRATION_STATES.filter((s) => s !== 'reviewed')) assert.ok(canTransition('reviewed', 'reopened', s), s);
});

test('a migration that works, or one nobody has to act on, cannot be marked reviewed', () => {
  for (const from of [...MIGRATED_STATES, 'not_affected', 'reviewed'] as const) {
    assert.equal(canTransition(from, 'reviewed', 'reviewed'), false, from);
    assert.throws(() => assertTransition({ from, event: 'reviewed', to: 'reviewed' }), (err: unknown) => migErrorCode(err) === 'MIG_ERR_ILLEGAL_TRANSITION', from);
  }
});
