import { constants, createHash, generateKeyPairSync, privateEncrypt, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type forgeModule from 'node-forge';

/** The names the simulator's certificate is valid for: Google's mail hosts, as the app verifies them. */
export const SIMULATED_HOSTS = ['imap.gmail.com', 'smtp.gmail.com', 'imap.googlemail.com', 'smtp.googlemail.com'] as const;

export interface SimulatorCertificates {
  /** The simulator's own certificate authority (PEM): the only one the app trusts for routed connections. */
  ca: string;
  /** The server certificate (PEM), signed by that CA, for SIMULATED_HOSTS, localhost and 127.0.0.1. */
  cert: string;
  key: string;
}

const FILES = { ca: 'ca.pem', cert: 'server.pem', key: 'server-key.pem' } as const;

function read(dir: string): SimulatorCertificates {
  return { ca: readFileSync(path.join(dir, FILES.ca), 'utf8'), cert: readFileSync(path.join(dir, FILES.cert), 'utf8'), key: readFileSync(path.join(dir, FILES.key), 'utf8') };
}

type Forge = typeof forgeModule;
type Pki = Forge['pki'];

/** DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2): what an RSA PKCS#1 v1.5 signature wraps the hash in. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

// Keys and signatures come from node's crypto (native, fast); node-forge only builds the X.509
// structures, so no openssl binary is needed on a fresh machine.
function rsaKeys(pki: Pki) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return {
    pem: privateKey,
    publicKey: pki.publicKeyFromPem(publicKey),
    // forge's Certificate.sign() hands the signer its SHA-256 message digest and wants the signature as a binary string.
    signer: {
      sign: (md: { digest(): { getBytes(): string } }) =>
        privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')])).toString('binary'),
    },
  };
}

function certificate(pki: Pki, p: { publicKey: forgeModule.pki.PublicKey; subject: forgeModule.pki.CertificateField[]; issuer: forgeModule.pki.CertificateField[]; extensions: object[]; years: number }) {
  const cert = pki.createCertificate();
  cert.publicKey = p.publicKey;
  // A positive serial: the top bit cleared.
  cert.serialNumber = '0' + randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + p.years * 365 * 86_400_000);
  cert.setSubject(p.subject);
  cert.setIssuer(p.issuer);
  cert.setExtensions(p.extensions);
  return cert;
}

async function generate(): Promise<SimulatorCertificates> {
  // Loaded only here: a warm start never pays for it.
  const forge = (await import('node-forge')).default;
  const { pki } = forge;
  const caKeys = rsaKeys(pki);
  const caName = [
    { name: 'commonName', value: 'Symulator Google (demo) CA' },
    { name: 'organizationName', value: 'Migracja autorespondera Allegro - demo' },
  ];
  const ca = certificate(pki, {
    publicKey: caKeys.publicKey,
    subject: caName,
    issuer: caName,
    years: 10,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  ca.sign(caKeys.signer as never, forge.md.sha256.create());

  const serverKeys = rsaKeys(pki);
  const server = certificate(pki, {
    publicKey: serverKeys.publicKey,
    subject: [{ name: 'commonName', value: 'imap.gmail.com (Symulator Google, demo)' }],
    issuer: caName,
    years: 2,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...SIMULATED_HOSTS.map((value) => ({ type: 2, value })), { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
      { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
    ],
  });
  server.sign(caKeys.signer as never, forge.md.sha256.create());
  return { ca: pki.certificateToPem(ca), cert: pki.certificateToPem(server), key: serverKeys.pem };
}

/**
 * The simulator's CA and server certificate, made on first start and kept in `dir` (a warm start only
 * reads them). Written into a temporary folder that is then renamed into place, so two processes
 * starting at once (the app and `npm run simulator:google`) end up with one set, never a mix.
 */
export function ensureSimulatorCertificates(dir: string): Promise<SimulatorCertificates> {
  // The app (for its routes) and the simulator ask at the same start: one generation per process.
  let pending = inProcess.get(dir);
  if (!pending) {
    pending = ensure(dir);
    inProcess.set(dir, pending);
    pending.catch(() => inProcess.delete(dir));
  }
  return pending;
}
const inProcess = new Map<string, Promise<SimulatorCertificates>>();

async function ensure(dir: string): Promise<SimulatorCertificates> {
  if (existsSync(path.join(dir, FILES.key))) return read(dir);
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(path.join(parent, `.${path.basename(dir)}-`));
  const made = await generate();
  writeFileSync(path.join(tmp, FILES.ca), made.ca);
  writeFileSync(path.join(tmp, FILES.cert), made.cert);
  writeFileSync(path.join(tmp, FILES.key), made.key, { mode: 0o600 });
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(tmp, dir);
      return made;
    } catch (err) {
      // Another process got there first: use its set. An incomplete folder (a crash mid-write of an
      // older version) is replaced, once.
      if (existsSync(path.join(dir, FILES.key))) {
        rmSync(tmp, { recursive: true, force: true });
        return read(dir);
      }
      if (attempt > 0) throw err;
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
