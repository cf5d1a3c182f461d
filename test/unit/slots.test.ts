import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSlots } from '../../src/checks/slots.js';

test('slots: one per key, at most perHost per mail host (Allegro uncapped), at most global in all', () => {
  const s = createSlots({ global: 3, perHost: 2 });
  assert.equal(s.tryTake({ key: 'mailbox:1', host: 'imap.gmail.com' }), true);
  assert.equal(s.tryTake({ key: 'mailbox:1', host: 'imap.gmail.com' }), false, 'never two on one mailbox');
  assert.equal(s.tryTake({ key: 'mailbox:2', host: 'imap.gmail.com' }), true);
  assert.equal(s.tryTake({ key: 'mailbox:3', host: 'imap.gmail.com' }), false, 'the host is full');
  assert.equal(s.tryTake({ key: 'seller:1:allegro', host: 'allegro' }), true, 'Allegro is not a mail host');
  assert.equal(s.tryTake({ key: null, host: null }), false, 'the global cap');
  s.give({ key: 'mailbox:1', host: 'imap.gmail.com' });
  assert.equal(s.tryTake({ key: 'mailbox:3', host: 'imap.gmail.com' }), true);
  assert.deepEqual(s.stats().peakPerHost, { 'imap.gmail.com': 2, allegro: 1 });
});

test('slots: a request waiting for a key or for room goes before the job runner, and gets it when it is given back', async () => {
  const s = createSlots({ global: 2, perHost: 5 });
  assert.ok(s.tryTake({ key: 'mailbox:1', host: 'h' }));
  let got = false;
  const waiting = s.take({ key: 'mailbox:1', host: 'h' }, 5_000).then((taken) => (got = taken));
  await Promise.resolve();
  assert.equal(got, false, 'waits while the mailbox is in use');
  assert.equal(s.tryTake({ key: 'mailbox:1', host: 'h' }), false, 'the runner does not take a key someone waits for');
  assert.ok(s.tryTake({ key: 'mailbox:2', host: 'h' }), 'other keys go on (the waiter waits for its key, not for room)');
  s.give({ key: 'mailbox:1', host: 'h' });
  await waiting;
  assert.equal(got, true);
  // Full now (2 of 2). A request waiting for room is served before the runner takes the freed slot.
  let second = false;
  const room = s.take({ key: 'mailbox:9', host: 'h' }, 5_000).then((taken) => (second = taken));
  s.give({ key: 'mailbox:2', host: 'h' });
  await room;
  assert.equal(second, true);
  assert.equal(s.tryTake({ key: 'mailbox:3', host: 'h' }), false, 'still full: the waiter took the slot');
});

test('slots: a request that cannot get its slots in time gives up without taking anything', async () => {
  const s = createSlots({ global: 1, perHost: 1 });
  assert.ok(s.tryTake({ key: 'mailbox:1', host: 'h' }));
  assert.equal(await s.take({ key: 'mailbox:1', host: 'h' }, 20), false);
  assert.equal(s.waiting(), 0, 'no waiter left behind');
  s.give({ key: 'mailbox:1', host: 'h' });
  assert.equal(s.stats().inUse, 0);
  assert.ok(s.tryTake({ key: 'mailbox:1', host: 'h' }), 'free again');
});
