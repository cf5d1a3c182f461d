import tls from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import hoodiecrow, { type CommandHandler, type HoodiecrowServer, type ImapCommand, type ImapConnection } from 'hoodiecrow-imap';
import type { GmailImapAnswer } from '../../mail/gmail-answers.js';
import { GMAIL_IMAP } from '../../mail/gmail-answers.js';
import type { GoogleDirectory } from './directory.js';
import { rawMessage } from './inbox.js';

/** Gmail's limit of simultaneous IMAP connections per account. */
export const MAX_CONNECTIONS_PER_ACCOUNT = 15;

// What Gmail offers before login (less XOAUTH and the Gmail extensions the app does not use).
const PLUGINS = ['ID', 'IDLE', 'NAMESPACE', 'UNSELECT', 'SASL-IR', 'AUTH-PLAIN'];
const GREETING = '* OK Gimap ready for requests (Symulator Google, demo)\r\n';

export interface ImapSimulator {
  port: number;
  close(): Promise<void>;
}

/**
 * Gmail's IMAP over TLS, played by hoodiecrow-imap (the scriptable test server by imapflow's author).
 * Its LOGIN and AUTHENTICATE PLAIN are replaced by Gmail's answers from the directory; after a good
 * login the connection is moved to that mailbox's own hoodiecrow instance, so every mailbox has its
 * own INBOX (hoodiecrow itself keeps one store per server).
 */
export async function startImapSimulator(opts: { host: string; port: number; key: string; cert: string; directory: GoogleDirectory }): Promise<ImapSimulator> {
  const credentials = { key: opts.key, cert: opts.cert };
  const front = hoodiecrow({ secureConnection: true, credentials, plugins: PLUGINS, storage: { INBOX: { messages: [] } } });
  front.setMaxListeners(0);
  const accounts = new Map<string, { server: HoodiecrowServer; open: number }>();

  const account = (address: string) => {
    let a = accounts.get(address);
    if (!a) {
      const messages = opts.directory.inbox(address).map((m, i) => ({ raw: rawMessage(m, address, `${i + 1}.${address}`), flags: m.seen ? ['\\Seen'] : [], internaldate: m.date }));
      const server = hoodiecrow({ secureConnection: true, credentials, plugins: PLUGINS, storage: { INBOX: { messages } } });
      server.setMaxListeners(0);
      a = { server, open: 0 };
      accounts.set(address, a);
    }
    return a;
  };

  const refuse = (connection: ImapConnection, parsed: ImapCommand, answer: GmailImapAnswer) =>
    connection.send({ tag: parsed.tag, command: 'NO', attributes: [{ type: 'SECTION', section: [{ type: 'ATOM', value: answer.responseCode }] }, { type: 'TEXT', value: answer.text }] }, 'LOGIN FAILED', parsed);

  const bad = (connection: ImapConnection, parsed: ImapCommand, text: string) => connection.send({ tag: parsed.tag, command: 'BAD', attributes: [{ type: 'TEXT', value: text }] }, 'LOGIN FAILED', parsed);

  /** Answers one login as Gmail would, and on success moves the connection to the mailbox's store. */
  function login(connection: ImapConnection, parsed: ImapCommand, user: string, password: string): void {
    const answer = opts.directory.login(user, password, 'imap');
    if (!answer.ok) return refuse(connection, parsed, answer.imap);
    const a = account(answer.address);
    if (a.open >= MAX_CONNECTIONS_PER_ACCOUNT) return refuse(connection, parsed, GMAIL_IMAP.tooManyConnections);
    a.open++;
    connection.socket?.once('close', () => a.open--);
    connection.server.removeListener('notify', connection._notificationCallback);
    connection.server = a.server;
    a.server.on('notify', connection._notificationCallback);
    connection.state = 'Authenticated';
    connection.send({ tag: parsed.tag, command: 'OK', attributes: [{ type: 'TEXT', value: `${answer.address} authenticated (Success)` }] }, 'LOGIN SUCCESS', parsed);
  }

  const str = (v: unknown) => (typeof v === 'string' ? v : '');

  const loginCommand: CommandHandler = (connection, parsed, _data, callback) => {
    const [u, p] = parsed.attributes ?? [];
    if (parsed.attributes?.length !== 2 || !u || !p) bad(connection, parsed, 'LOGIN takes 2 string arguments');
    else if (connection.state !== 'Not Authenticated') bad(connection, parsed, 'Already authenticated');
    else login(connection, parsed, str(u.value), str(p.value));
    callback();
  };

  const plain = (b64: string) => {
    const [, user = '', password = ''] = Buffer.from(b64, 'base64').toString('utf8').split('\x00');
    return { user, password };
  };
  const authenticatePlain: CommandHandler = (connection, parsed, _data, callback) => {
    if (connection.state !== 'Not Authenticated') {
      bad(connection, parsed, 'Already authenticated');
      return callback();
    }
    const initial = parsed.attributes?.[0];
    if (initial) {
      // SASL-IR: the credentials come with the command.
      const c = plain(str(initial.value));
      login(connection, parsed, c.user, c.password);
      return callback();
    }
    connection.inputHandler = (line: string) => {
      connection.inputHandler = false;
      const c = plain(line.trim());
      login(connection, parsed, c.user, c.password);
    };
    connection.socket?.write('+ \r\n');
    return callback();
  };

  front.setCommandHandler('LOGIN', loginCommand);
  front.setCommandHandler('AUTHENTICATE PLAIN', authenticatePlain);

  const sockets = new Set<Socket>();
  const listener = tls.createServer({ ...credentials, minVersion: 'TLSv1.2' }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Gmail's greeting (with the simulator named) instead of hoodiecrow's.
    const write = socket.write;
    socket.write = ((_chunk: unknown, ...rest: never[]) => {
      socket.write = write;
      return write.call(socket, GREETING, ...rest);
    }) as typeof socket.write;
    front.createClient(socket);
  });
  // A client that refuses the certificate ends the handshake; nothing to do about it here.
  listener.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (listener.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        listener.close(() => resolve());
      }),
  };
}
