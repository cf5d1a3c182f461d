import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyImapError, classifySmtpError } from '../../src/mail/classify.js';
import { GMAIL_IMAP, GMAIL_SMTP, smtpReplyText, type GmailImapAnswer, type GmailSmtpAnswer } from '../../src/mail/gmail-answers.js';

// Gmail's texts come from the one module the demo's Google simulator sends them from.
const gi = (a: GmailImapAnswer) => ({ serverResponseCode: a.responseCode, text: a.text });
const gs = (a: GmailSmtpAnswer) => ({ code: 'EAUTH', responseCode: a.responseCode, text: smtpReplyText(a) });

// Gmail's documented IMAP answers, as imapflow reports them (serverResponseCode + responseText), and other servers'.
const imap: [string, { serverResponseCode?: string; text: string; code?: string }, string][] = [
  ['account password', gi(GMAIL_IMAP.appPasswordRequired), 'MAIL_APP_PASSWORD_REQUIRED'],
  ['wrong app password', gi(GMAIL_IMAP.invalidCredentials), 'MAIL_AUTH_FAILED'],
  ['dovecot refusal', { serverResponseCode: 'AUTHENTICATIONFAILED', text: 'Authentication failed.' }, 'MAIL_AUTH_FAILED'],
  ['web login', gi(GMAIL_IMAP.webLoginRequired), 'MAIL_WEB_LOGIN_REQUIRED'],
  ['imap off', gi(GMAIL_IMAP.imapDisabled), 'MAIL_IMAP_DISABLED'],
  ['imap off for domain', gi(GMAIL_IMAP.imapDisabledForDomain), 'MAIL_IMAP_DISABLED'],
  ['too many connections', gi(GMAIL_IMAP.tooManyConnections), 'MAIL_TOO_MANY_CONNECTIONS'],
  ['dns', { code: 'ENOTFOUND', text: 'getaddrinfo ENOTFOUND imap.gmial.com' }, 'MAIL_DNS_FAILED'],
  ['refused', { code: 'ECONNREFUSED', text: 'connect ECONNREFUSED 127.0.0.1:993' }, 'MAIL_CONNECTION_REFUSED'],
  ['tls', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', text: 'self-signed certificate' }, 'MAIL_TLS_FAILED'],
  ['altname', { code: 'ERR_TLS_CERT_ALTNAME_INVALID', text: "Hostname/IP does not match certificate's altnames" }, 'MAIL_TLS_FAILED'],
  ['unknown authority', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', text: 'unable to verify the first certificate' }, 'MAIL_TLS_FAILED'],
  ['timeout', { code: 'CONNECT_TIMEOUT', text: 'Failed to establish connection in required time' }, 'MAIL_TIMEOUT'],
  ['other', { serverResponseCode: 'UNAVAILABLE', text: 'Server busy' }, 'MAIL_SERVER_ERROR'],
];

// Gmail's documented SMTP answers, as nodemailer reports them (code EAUTH, responseCode, response).
const smtp: [string, { code?: string; responseCode?: number; text: string }, string][] = [
  ['account password', gs(GMAIL_SMTP.appPasswordRequired), 'MAIL_APP_PASSWORD_REQUIRED'],
  ['wrong app password', gs(GMAIL_SMTP.invalidCredentials), 'MAIL_AUTH_FAILED'],
  ['web login', gs(GMAIL_SMTP.webLoginRequired), 'MAIL_WEB_LOGIN_REQUIRED'],
  ['too many logins', gs(GMAIL_SMTP.tooManyLogins), 'MAIL_TOO_MANY_LOGINS'],
  ['dns', { code: 'EDNS', text: 'getaddrinfo ENOTFOUND smtp.gmial.com' }, 'MAIL_DNS_FAILED'],
  ['refused', { code: 'ESOCKET', text: 'connect ECONNREFUSED 127.0.0.1:465' }, 'MAIL_CONNECTION_REFUSED'],
  ['tls', { code: 'ESOCKET', text: 'self-signed certificate' }, 'MAIL_TLS_FAILED'],
  ['timeout', { code: 'ETIMEDOUT', text: 'Connection timeout' }, 'MAIL_TIMEOUT'],
  ['other', { code: 'EENVELOPE', responseCode: 550, text: '550 no' }, 'MAIL_SERVER_ERROR'],
];

for (const [name, facts, expected] of imap) {
  test(`IMAP: ${name} → ${expected}`, () => assert.equal(classifyImapError(facts), expected));
}
for (const [name, facts, expected] of smtp) {
  test(`SMTP: ${name} → ${expected}`, () => assert.equal(classifySmtpError(facts), expected));
}

test('an IMAP refusal is not taken as a wrong password just because imapflow flags authenticationFailed', () => {
  // imapflow sets authenticationFailed for any refused LOGIN; the text decides.
  assert.equal(classifyImapError({ serverResponseCode: 'ALERT', text: 'Application-specific password required' }), 'MAIL_APP_PASSWORD_REQUIRED');
});
