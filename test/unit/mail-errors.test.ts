import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyImapError, classifySmtpError } from '../../src/mail/classify.js';

// Gmail's documented IMAP answers, as imapflow reports them (serverResponseCode + responseText).
const imap: [string, { serverResponseCode?: string; text: string; code?: string }, string][] = [
  ['account password', { serverResponseCode: 'ALERT', text: 'Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)' }, 'MAIL_APP_PASSWORD_REQUIRED'],
  ['wrong app password', { serverResponseCode: 'AUTHENTICATIONFAILED', text: 'Invalid credentials (Failure)' }, 'MAIL_AUTH_FAILED'],
  ['dovecot refusal', { serverResponseCode: 'AUTHENTICATIONFAILED', text: 'Authentication failed.' }, 'MAIL_AUTH_FAILED'],
  ['web login', { serverResponseCode: 'ALERT', text: 'Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)' }, 'MAIL_WEB_LOGIN_REQUIRED'],
  ['imap off', { serverResponseCode: 'ALERT', text: 'Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your account for IMAP access. (Failure)' }, 'MAIL_IMAP_DISABLED'],
  ['imap off for domain', { serverResponseCode: 'ALERT', text: 'IMAP access is disabled for your domain. Please contact your domain administrator for questions about this feature. (Failure)' }, 'MAIL_IMAP_DISABLED'],
  ['too many connections', { serverResponseCode: 'ALERT', text: 'Too many simultaneous connections. (Failure)' }, 'MAIL_TOO_MANY_CONNECTIONS'],
  ['dns', { code: 'ENOTFOUND', text: 'getaddrinfo ENOTFOUND imap.gmial.com' }, 'MAIL_DNS_FAILED'],
  ['refused', { code: 'ECONNREFUSED', text: 'connect ECONNREFUSED 127.0.0.1:993' }, 'MAIL_CONNECTION_REFUSED'],
  ['tls', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', text: 'self-signed certificate' }, 'MAIL_TLS_FAILED'],
  ['altname', { code: 'ERR_TLS_CERT_ALTNAME_INVALID', text: "Hostname/IP does not match certificate's altnames" }, 'MAIL_TLS_FAILED'],
  ['timeout', { code: 'CONNECT_TIMEOUT', text: 'Failed to establish connection in required time' }, 'MAIL_TIMEOUT'],
  ['other', { serverResponseCode: 'UNAVAILABLE', text: 'Server busy' }, 'MAIL_SERVER_ERROR'],
];

// Gmail's documented SMTP answers, as nodemailer reports them (code EAUTH, responseCode, response).
const smtp: [string, { code?: string; responseCode?: number; text: string }, string][] = [
  ['account password', { code: 'EAUTH', responseCode: 534, text: '534-5.7.9 Application-specific password required. For more information, go to 534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor' }, 'MAIL_APP_PASSWORD_REQUIRED'],
  ['wrong app password', { code: 'EAUTH', responseCode: 535, text: '535-5.7.8 Username and Password not accepted. For more information, go to 535 5.7.8  https://support.google.com/mail/?p=BadCredentials' }, 'MAIL_AUTH_FAILED'],
  ['web login', { code: 'EAUTH', responseCode: 534, text: '534-5.7.14 <https://accounts.google.com/signin/continue?...> Please log in via your web browser and then try again.' }, 'MAIL_WEB_LOGIN_REQUIRED'],
  ['too many logins', { code: 'EAUTH', responseCode: 454, text: '454 4.7.0 Too many login attempts, please try again later.' }, 'MAIL_TOO_MANY_LOGINS'],
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
