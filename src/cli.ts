import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, readEnvironment, type AppConfig } from './config.js';
import { generateKeyText } from './crypto/secret-box.js';
import { migrate, openDatabase } from './db/database.js';
import { migErrorCode } from './errors.js';
import { keysFor, mailServerPolicyFor, resolverFor } from './plugins/services.js';
import { importCsv } from './services/import.js';
import { createServices } from './services/index.js';
import { rotateKey } from './services/rotate-key.js';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './crypto/password.js';
import { STAFF_ROLES } from './repositories/staff.js';

/** The password for staff:create: STAFF_PASSWORD, or one line of standard input (a prompt on a terminal). */
async function readPassword(): Promise<string> {
  if (process.env.STAFF_PASSWORD) return process.env.STAFF_PASSWORD;
  const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stdout : undefined, terminal: false });
  try {
    return await rl.question(process.stdin.isTTY ? 'Hasło / password: ' : '');
  } finally {
    rl.close();
  }
}

const USAGE = `Użycie / usage: npm run cli -- <polecenie / command>

  import PLIK.csv   importuje eksport autoresponderów (UTF-8, , lub ;) / imports the autoresponder export
  detect            ponownie sprawdza, które skrzynki obsługuje Google / re-runs Google detection
  rotate-key        szyfruje wszystkie sekrety nowym kluczem / re-encrypts every secret with a new key
  generate-key      wypisuje nowy klucz do APP_SECRET_KEY / prints a new key for APP_SECRET_KEY
  staff:create --email E --role viewer|agent|admin
                    zakłada konto pracownika wsparcia (hasło z STAFF_PASSWORD albo ze standardowego wejścia)
                    / creates a support staff account (password from STAFF_PASSWORD or standard input)

Kody wyjścia / exit codes: 0 ok, 1 błąd / error, 2 część wierszy odrzucona / some rows rejected.`;

function openServices(config: AppConfig) {
  const db = openDatabase(config.databasePath);
  migrate(db);
  const keys = keysFor(config);
  return createServices({ db, keyring: keys.keyring, mxResolver: resolverFor(config), mxCacheTtlMs: config.mxCacheTtlMs, mailServers: mailServerPolicyFor(config) });
}

async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (command === 'generate-key') {
    console.log(generateKeyText());
    return 0;
  }
  const config = loadConfig(readEnvironment());
  const actor = { type: 'cli' as const, id: command };

  switch (command) {
    case 'import': {
      const file = args[0];
      if (!file || args.length > 1) {
        console.error('Podaj jeden plik CSV / give one CSV file: npm run cli -- import PLIK.csv');
        return 1;
      }
      let input: Buffer;
      try {
        input = readFileSync(file);
      } catch (err) {
        console.error(`Nie można odczytać pliku / cannot read the file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        return 1;
      }
      const services = openServices(config);
      try {
        const r = await importCsv(input, services, { actor, fileName: path.basename(file) });
        console.log(`Wiersze / rows: ${r.rows}`);
        console.log(`  zaimportowane / imported:  ${r.imported}`);
        console.log(`  zaktualizowane / updated:  ${r.updated}`);
        console.log(`  bez zmian / unchanged:     ${r.unchanged}`);
        console.log(`  odrzucone / rejected:      ${r.rejected}`);
        if (r.ignoredColumns.length) console.log(`Pominięte kolumny / ignored columns: ${r.ignoredColumns.join(', ')}`);
        for (const p of r.problems) console.log(`  ✗ wiersz / line ${p.line}${p.column ? `, kolumna / column ${p.column}` : ''}: ${p.reason}`);
        for (const n of r.notes) console.log(`  ℹ wiersz / line ${n.line}${n.column ? `, kolumna / column ${n.column}` : ''}: ${n.reason}`);
        return r.rejected ? 2 : 0;
      } finally {
        services.db.close();
      }
    }
    case 'detect': {
      const services = openServices(config);
      try {
        const s = await services.detection.redetectAll(actor);
        console.log(`Skrzynki / mailboxes: ${s.mailboxes}; zmienione werdykty / changed verdicts: ${s.changedMailboxes}; zmienione migracje / changed migrations: ${s.changedMigrations}`);
        return 0;
      } finally {
        services.db.close();
      }
    }
    case 'rotate-key': {
      const db = openDatabase(config.databasePath);
      migrate(db);
      try {
        const source = config.secretKeys ? ({ kind: 'env', keys: config.secretKeys } as const) : ({ kind: 'file', file: config.secretKeyFile } as const);
        if (source.kind === 'file') keysFor(config); // creates the file on a fresh install
        const services = createServices({ db, keyring: keysFor(config).keyring, mxResolver: resolverFor(config) });
        const r = rotateKey(db, source, services.repos.audit, actor);
        console.log(`Sekrety / secrets: ${r.total}; zaszyfrowane ponownie / re-encrypted: ${r.reencrypted}; klucz / key: ${r.primaryKeyId}`);
        if (r.generated) console.log(`Nowy klucz zapisano w / new key written to ${config.secretKeyFile}. Uruchom serwer ponownie / restart the server.`);
        else if (r.retiredKeyIds.length) console.log(`Możesz usunąć z APP_SECRET_KEY starsze klucze / you may now remove the older keys from APP_SECRET_KEY: ${r.retiredKeyIds.join(', ')}`);
        return 0;
      } finally {
        db.close();
      }
    }
    case 'staff:create': {
      let parsed;
      try {
        parsed = parseArgs({ args, options: { email: { type: 'string' }, role: { type: 'string' } }, strict: true });
      } catch (err) {
        console.error(`${(err as Error).message}\nUżycie / usage: npm run cli -- staff:create --email E --role viewer|agent|admin`);
        return 1;
      }
      const email = z.string().trim().max(254).pipe(z.email()).safeParse(parsed.values.email ?? '');
      if (!email.success) {
        console.error('--email: podaj poprawny adres e-mail / give a valid e-mail address');
        return 1;
      }
      const role = z.enum(STAFF_ROLES).safeParse(parsed.values.role);
      if (!role.success) {
        console.error(`--role: jedna z / one of ${STAFF_ROLES.join(', ')}`);
        return 1;
      }
      const password = (await readPassword()).replace(/\r?\n$/, '');
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
        console.error(`Hasło musi mieć od ${PASSWORD_MIN} do ${PASSWORD_MAX} znaków / the password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`);
        return 1;
      }
      const services = openServices(config);
      try {
        const passwordHash = await hashPassword(password);
        const r = services.db.transaction(() => {
          const result = services.repos.staff.upsert({ email: email.data, passwordHash, role: role.data });
          services.repos.audit.append({ actor, action: result.created ? 'staff.created' : 'staff.updated', targetType: 'staff', targetId: result.id, details: { email: email.data, role: role.data } });
          return result;
        })();
        console.log(`${r.created ? 'Utworzono / created' : 'Zaktualizowano / updated'}: ${email.data} (${role.data})`);
        return 0;
      } finally {
        services.db.close();
      }
    }
    default:
      console.error(`Nieznane polecenie / unknown command: ${command}\n\n${USAGE}`);
      return 1;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(migErrorCode(err) ? `${migErrorCode(err)}: ${(err as Error).message}` : err);
    process.exit(1);
  },
);
