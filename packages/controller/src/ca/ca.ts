// The controller's certificate authority: ECDSA P-256, created on first start
// (or by `skyway ca init`). It issues agent certificates from CSRs at
// enrollment, client certificates for callers (service, control) and the
// controller's own TLS server certificates, and records every serial it issues.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { failedPrecondition, invalidArgument, unauthenticated } from '@skyway/core';
import { type CertIdentity, identityToUri } from './identity.js';
import type { CaKeyStore, CredentialRegistry } from './store.js';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const keyAlg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signAlg = { name: 'ECDSA', hash: 'SHA-256' } as const;
const subtle = webcrypto.subtle;

export interface IssuedCertificate {
  certPem: string;
  serial: string;
  notAfter: Date;
}

export interface KeyPairPem {
  keyPem: string;
  publicKey: CryptoKey;
}

/** Serial numbers: 16 random bytes, first byte 0x10..0x7f (positive, no leading zero). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = 0x10 + (b[0]! % 0x70);
  return b.toString('hex').toUpperCase();
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A fresh P-256 key pair, the private key as PKCS#8 PEM. */
export async function generateKeyPair(): Promise<{ keyPem: string; keys: CryptoKeyPair }> {
  const keys = (await subtle.generateKey(keyAlg, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { keyPem: await exportKeyPem(keys.privateKey), keys };
}

/** A PKCS#10 request for `commonName`, signed with `keys` (the agent keeps its key). */
export async function createCsr(commonName: string, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: signAlg,
  });
  return csr.toString('pem');
}

export class CertificateAuthority {
  private constructor(
    readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
    private readonly registry: CredentialRegistry | undefined,
    private readonly now: () => number,
  ) {}

  /** The CA certificate, PEM, for clients to trust. */
  get certPem(): string {
    return this.cert.toString('pem');
  }

  /** Loads the CA from `store`, creating it on first start. */
  static async open(opts: {
    store: CaKeyStore;
    registry?: CredentialRegistry;
    now?: () => number;
    name?: string;
  }): Promise<CertificateAuthority> {
    const now = opts.now ?? Date.now;
    let material = await opts.store.load();
    if (!material) {
      material = await CertificateAuthority.generate(opts.name ?? 'Skyway CA', now());
      try {
        await opts.store.save(material);
      } catch (e) {
        // Another process created it first: use theirs.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        material = (await opts.store.load())!;
      }
    }
    const cert = new x509.X509Certificate(material.certPem);
    const key = await subtle.importKey(
      'pkcs8',
      x509.PemConverter.decodeFirst(material.keyPem),
      keyAlg,
      false,
      ['sign'],
    );
    return new CertificateAuthority(cert, key, opts.registry, now);
  }

  /** Whether `store` already holds a CA. */
  static async exists(store: CaKeyStore): Promise<boolean> {
    return (await store.load()) !== undefined;
  }

  static async generate(name: string, nowMs = Date.now()): Promise<{ certPem: string; keyPem: string }> {
    const keys = (await subtle.generateKey(keyAlg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: newSerial(),
      name: `CN=${name}, O=skyway`,
      notBefore: new Date(nowMs - 3_600_000),
      notAfter: new Date(nowMs + 10 * 365 * 86_400_000),
      keys,
      signingAlgorithm: signAlg,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
  }

  private async sign(opts: {
    commonName: string;
    publicKey: CryptoKey;
    ttlMs: number;
    usage: 'server' | 'client';
    altNames: x509.JsonGeneralName[];
    purpose: string;
    scope: Record<string, string>;
  }): Promise<IssuedCertificate> {
    if (!(opts.ttlMs > 0)) throw invalidArgument('ttl must be positive', 'ttl');
    const serial = newSerial();
    const now = this.now();
    const notAfter = new Date(Math.min(now + opts.ttlMs, this.cert.notAfter.getTime()));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${opts.commonName.replace(/[,=+<>#;"\\]/g, '_')}, O=skyway`,
      issuer: this.cert.subject,
      notBefore: new Date(now - 5 * 60_000),
      notAfter,
      signingKey: this.key,
      publicKey: opts.publicKey,
      signingAlgorithm: signAlg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(
          [opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        new x509.SubjectAlternativeNameExtension(opts.altNames, false),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert, false),
      ],
    });
    await this.registry?.record({
      id: serial,
      kind: 'certificate',
      purpose: opts.purpose,
      subject: opts.commonName,
      scope: opts.scope,
      issuedAt: new Date(now).toISOString(),
      expiresAt: notAfter.toISOString(),
    });
    return { certPem: cert.toString('pem'), serial, notAfter };
  }

  /** A client certificate for `identity`, for a public key the caller holds. */
  async issueClient(identity: CertIdentity, publicKey: CryptoKey, ttlMs: number): Promise<IssuedCertificate> {
    const commonName =
      identity.kind === 'control'
        ? identity.name
        : identity.kind === 'agent'
          ? identity.agent
          : `${identity.agent}/${identity.serviceType}/${identity.serviceName}`;
    const { kind, ...scope } = identity;
    return this.sign({
      commonName,
      publicKey,
      ttlMs,
      usage: 'client',
      altNames: [{ type: 'url', value: identityToUri(identity) }],
      purpose: kind,
      scope: Object.fromEntries(
        Object.entries(scope).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
      ),
    });
  }

  /** A client certificate and a fresh key for `identity` (the key is returned once, never kept). */
  async issueClientWithKey(
    identity: CertIdentity,
    ttlMs: number,
  ): Promise<IssuedCertificate & { keyPem: string }> {
    const { keyPem, keys } = await generateKeyPair();
    return { ...(await this.issueClient(identity, keys.publicKey, ttlMs)), keyPem };
  }

  /** Signs a PKCS#10 request (agent enrollment and renewal); the CSR's own subject is ignored. */
  async signCsr(csrPem: string, identity: CertIdentity, ttlMs: number): Promise<IssuedCertificate> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw invalidArgument('csr is not a PEM PKCS#10 certificate request', 'csr');
    }
    if (!(await csr.verify())) throw unauthenticated('csr signature does not verify');
    const alg = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256')
      throw invalidArgument('csr key must be ECDSA P-256', 'csr');
    const publicKey = await csr.publicKey.export(keyAlg, ['verify']);
    return this.issueClient(identity, publicKey, ttlMs);
  }

  /** A CA certificate under this one for a key the caller holds (each overlay's root CA). */
  async issueSubCa(commonName: string, publicKey: CryptoKey, ttlMs: number): Promise<IssuedCertificate> {
    const serial = newSerial();
    const now = this.now();
    const notAfter = new Date(Math.min(now + ttlMs, this.cert.notAfter.getTime()));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}, O=skyway`,
      issuer: this.cert.subject,
      notBefore: new Date(now - 5 * 60_000),
      notAfter,
      signingKey: this.key,
      publicKey,
      signingAlgorithm: signAlg,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert, false),
      ],
    });
    return { certPem: cert.toString('pem'), serial, notAfter };
  }

  /** A TLS server certificate (and key) for the controller's own listeners. */
  async issueServer(opts: {
    names: string[];
    ttlMs?: number;
  }): Promise<IssuedCertificate & { keyPem: string }> {
    if (opts.names.length === 0) throw failedPrecondition('a server certificate needs at least one name');
    const { keyPem, keys } = await generateKeyPair();
    const altNames: x509.JsonGeneralName[] = opts.names.map((n) =>
      isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n },
    );
    const issued = await this.sign({
      commonName: opts.names[0]!,
      publicKey: keys.publicKey,
      ttlMs: opts.ttlMs ?? 90 * 86_400_000,
      usage: 'server',
      altNames,
      purpose: 'server',
      scope: { names: opts.names.join(',') },
    });
    return { ...issued, keyPem };
  }
}

/** Issues the controller's TLS server certificate from `ca` for the given names (DNS names or IPs). */
export function issueServerCertificate(ca: CertificateAuthority, names: string[], ttlMs?: number) {
  return ca.issueServer({ names, ttlMs });
}
