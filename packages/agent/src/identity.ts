// The agent's enrolled identity on disk: its private key (0600, never sent
// anywhere), its certificate, the controller's CA and address. Enrollment
// trades a short-lived join token for a certificate; renewal uses the current
// certificate (mTLS) before it expires.
import 'reflect-metadata';
import { createPublicKey, type KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

/** What `skyway agent bundle` produces: everything an agent needs to enroll once. */
export interface EnrollmentBundle {
  apiVersion: 'skyway.dev/v1';
  kind: 'AgentEnrollment';
  agent: string;
  /** The controller's tunnel address, host:port. */
  controller: string;
  /** The name on the controller's TLS certificate. */
  serverName: string;
  /** The controller's CA, PEM. */
  ca: string;
  token: string;
  expiresAt: string;
}

export interface AgentIdentity {
  agent: string;
  controller: string;
  serverName: string;
  ca: string;
  cert: string;
  key: string;
  notBefore: number;
  notAfter: number;
}

/** Key (never sent anywhere), certificate, CA and controller address: mode 0600. */
const identityFile = 'identity.json';

export class EnrollmentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function newKeyAndCsr(agent: string): Promise<{ keyPem: string; csr: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${agent}`,
    keys: keys as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), csr: csr.toString('pem') };
}

function postJson(
  url: string,
  body: unknown,
  tls: { ca: string; servername: string; cert?: string; key?: string },
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = https.request(
      url,
      {
        method: 'POST',
        ca: tls.ca,
        servername: tls.servername,
        cert: tls.cert,
        key: tls.key,
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        timeout: 15_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {}
          if ((res.statusCode ?? 500) >= 400) {
            const err = (parsed.error ?? parsed) as Record<string, unknown>;
            reject(
              new EnrollmentError(
                String(err.code ?? res.statusCode),
                String(err.message ?? `controller answered ${res.statusCode}`),
              ),
            );
          } else resolve(parsed);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('controller did not answer within 15s')));
    req.on('error', reject);
    req.end(data);
  });
}

function certTimes(pem: string) {
  const c = new X509Certificate(pem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

export class IdentityStore {
  constructor(readonly home: string) {}

  async load(): Promise<AgentIdentity | undefined> {
    let saved: Omit<AgentIdentity, 'notBefore' | 'notAfter'>;
    try {
      saved = JSON.parse(await readFile(join(this.home, identityFile), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const legacy = await this.loadLegacy();
      if (!legacy) return undefined;
      saved = legacy;
    }
    return { ...saved, ...certTimes(saved.cert) };
  }

  /** Agents enrolled before identity.json kept key, certificate, CA and state in four files. */
  private async loadLegacy() {
    try {
      const [state, cert, key, ca] = await Promise.all(
        ['agent.json', 'agent.crt', 'agent.key', 'ca.crt'].map((f) => readFile(join(this.home, f), 'utf8')),
      );
      const s = JSON.parse(state!) as { agent: string; controller: string; serverName: string };
      return { ...s, cert: cert!, key: key!, ca: ca! };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /**
   * Key and certificate go to disk together, in one file replaced by one rename: an agent
   * killed mid-renewal keeps the old pair or has the new one, never a key without its
   * certificate. A certificate that is not for the key is refused before anything is written.
   */
  private async save(id: Omit<AgentIdentity, 'notBefore' | 'notAfter'>): Promise<AgentIdentity> {
    const times = certTimes(id.cert);
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!spki(new X509Certificate(id.cert).publicKey).equals(spki(createPublicKey(id.key))))
      throw new Error('the controller returned a certificate for another key');
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    const tmp = join(this.home, `.${identityFile}.tmp`);
    const { agent, controller, serverName, ca, cert, key } = id;
    await writeFile(tmp, JSON.stringify({ agent, controller, serverName, ca, cert, key }, null, 2), {
      mode: 0o600,
    });
    await chmod(tmp, 0o600);
    await rename(tmp, join(this.home, identityFile));
    return { ...id, ...times };
  }

  /** Trades the bundle's join token for a certificate. */
  async enroll(bundle: EnrollmentBundle, now = Date.now()): Promise<AgentIdentity> {
    const { keyPem, csr } = await newKeyAndCsr(bundle.agent);
    const res = await postJson(
      `https://${bundle.controller}/v1/enroll`,
      { token: bundle.token, csr, timeMs: now },
      { ca: bundle.ca, servername: bundle.serverName },
    );
    return this.save({
      agent: String(res.agent ?? bundle.agent),
      controller: bundle.controller,
      serverName: bundle.serverName,
      ca: String(res.ca ?? bundle.ca),
      cert: String(res.certificate),
      key: keyPem,
    });
  }

  /** Gets a new certificate (and key) with the current one, before it expires. */
  async renew(id: AgentIdentity, now = Date.now()): Promise<AgentIdentity> {
    const { keyPem, csr } = await newKeyAndCsr(id.agent);
    const res = await postJson(
      `https://${id.controller}/v1/renew`,
      { csr, timeMs: now },
      { ca: id.ca, servername: id.serverName, cert: id.cert, key: id.key },
    );
    return this.save({ ...id, cert: String(res.certificate), key: keyPem, ca: String(res.ca ?? id.ca) });
  }
}

/** When to renew: two thirds into the certificate's life. */
export function renewAt(id: Pick<AgentIdentity, 'notBefore' | 'notAfter'>): number {
  // notBefore is back-dated five minutes by the CA.
  const issued = id.notBefore + 5 * 60_000;
  return issued + ((id.notAfter - issued) * 2) / 3;
}
