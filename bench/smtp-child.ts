/**
 * The mailboxes' SMTP server for the watch benchmark, in its own process so that its CPU is not
 * counted as the app's: smtp-server with implicit TLS on SMTP_PORT, the certificate of the parent
 * (CERT_FILE, KEY_FILE: the one the app trusts), the users from SMTP_USERS (JSON).
 */
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const users = JSON.parse(process.env.SMTP_USERS ?? '{}') as Record<string, string>;
const server = new SMTPServer({
  secure: true,
  key: readFileSync(process.env.KEY_FILE!),
  cert: readFileSync(process.env.CERT_FILE!),
  authMethods: ['PLAIN', 'LOGIN'],
  logger: false,
  onAuth(auth, _session, done) {
    if (auth.username && users[auth.username] === auth.password) return done(null, { user: auth.username });
    return done(Object.assign(new Error('5.7.8 Username and Password not accepted.'), { responseCode: 535 }));
  },
  onData(stream, _session, done) {
    stream.resume();
    stream.on('end', () => done());
  },
});
server.on('error', () => {});
server.listen(Number(process.env.SMTP_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
