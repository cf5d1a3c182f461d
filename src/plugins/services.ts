import fp from 'fastify-plugin';
import type { AppConfig } from '../config.js';
import { loadKeys, type LoadedKeys } from '../crypto/key-store.js';
import type { Keyring } from '../crypto/secret-box.js';
import { migrate, openDatabase, type Db } from '../db/database.js';
import { fileMxResolver, systemMxResolver, type MxResolver } from '../domain/mx-lookup.js';
import { createServices, type Services } from '../services/index.js';
import path from 'node:path';

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig;
    services: Services;
  }
}

export interface ServicesPluginOptions {
  config: AppConfig;
  /** Injected by tests; otherwise opened from config.databasePath (and closed with the app). */
  db?: Db;
  keyring?: Keyring;
  mxResolver?: MxResolver;
  now?: () => Date;
}

export function resolverFor(config: AppConfig): MxResolver {
  return config.mxResolver === 'demo' ? fileMxResolver(path.join(config.demoDir, 'mx.json')) : systemMxResolver(config.dnsTimeoutMs);
}

export function keysFor(config: AppConfig): LoadedKeys {
  return loadKeys(config.secretKeys ? { kind: 'env', keys: config.secretKeys } : { kind: 'file', file: config.secretKeyFile });
}

/**
 * Infrastructure: the database (migrated on boot), the keyring, and the domain services, exposed
 * as typed decorators. Routes reach data only through `fastify.services`.
 */
export default fp(
  async (fastify, opts: ServicesPluginOptions) => {
    const ownsDb = !opts.db;
    const db = opts.db ?? openDatabase(opts.config.databasePath);
    const migrated = migrate(db);
    if (migrated.from !== migrated.to) fastify.log.info({ schema: migrated }, 'database schema upgraded');
    let keyring = opts.keyring;
    if (!keyring) {
      const keys = keysFor(opts.config);
      keyring = keys.keyring;
      if (keys.created) fastify.log.warn({ file: opts.config.secretKeyFile }, 'created a new encryption key file; back it up');
      if (keys.tightened) fastify.log.warn({ file: opts.config.secretKeyFile }, 'key file permissions were too open; set to 0600');
    }
    fastify.decorate('config', opts.config);
    fastify.decorate(
      'services',
      createServices({ db, keyring, mxResolver: opts.mxResolver ?? resolverFor(opts.config), mxCacheTtlMs: opts.config.mxCacheTtlMs, now: opts.now }),
    );
    if (ownsDb) {
      fastify.addHook('onClose', async () => {
        db.close();
      });
    }
  },
  { name: 'services', fastify: '5.x' },
);
