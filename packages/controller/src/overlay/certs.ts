// Overlay certificates: each overlay has its own root CA, signed by the
// controller's CA; hubs and devices get leaf certificates from it (subject
// `CN=hub-<name>-cert` / `CN=device-<name>-cert`, SCC's names, which the IKE
// identities match), with a lifetime. Keys are P-256; private keys leave this
// module only sealed or inside a site's (sealed) document.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { generateKeyPair, type IssuedCertificate } from '../ca/ca.js';

x509.cryptoProvider.set(webcrypto as never);

const keyAlg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signAlg = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** What the overlay needs from the controller's CA. */
export interface RootSigner {
  readonly certPem: string;
  issueSubCa(commonName: string, publicKey: webcrypto.CryptoKey, ttlMs: number): Promise<IssuedCertificate>;
}

export interface CertMaterial {
  certPem: string;
  keyPem: string;
  serial: string;
  notAfter: string;
  notBefore: string;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = 0x10 + (b[0]! % 0x70);
  return b.toString('hex').toUpperCase();
}

export async function createOverlayCa(
  root: RootSigner,
  overlay: string,
  ttlMs: number,
  now = Date.now(),
): Promise<CertMaterial> {
  const { keyPem, keys } = await generateKeyPair();
  const issued = await root.issueSubCa(`${overlay}-cert`, keys.publicKey, ttlMs);
  return {
    certPem: issued.certPem,
    keyPem,
    serial: issued.serial,
    notAfter: issued.notAfter.toISOString(),
    notBefore: new Date(now).toISOString(),
  };
}

/** A certificate from an overlay CA: a leaf for a hub or device, or (isCA) a CA under it. */
export async function issueFromOverlayCa(
  ca: { certPem: string; keyPem: string },
  subjectCn: string,
  opts: { ttlMs: number; isCA?: boolean; now?: number },
): Promise<CertMaterial> {
  const now = opts.now ?? Date.now();
  const caCert = new x509.X509Certificate(ca.certPem);
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(ca.keyPem),
    keyAlg,
    false,
    ['sign'],
  );
  const { keyPem, keys } = await generateKeyPair();
  const notAfter = new Date(Math.min(now + opts.ttlMs, caCert.notAfter.getTime()));
  const notBefore = new Date(now - 5 * 60_000);
  const extensions: x509.Extension[] = opts.isCA
    ? [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ]
    : [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: subjectCn }], false),
      ];
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert, false));
  const s = serial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: s,
    // Exactly the CN: strongSwan compares the IKE identity with the whole subject.
    subject: `CN=${subjectCn}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingKey,
    publicKey: keys.publicKey,
    signingAlgorithm: signAlg,
    extensions,
  });
  return {
    certPem: cert.toString('pem'),
    keyPem,
    serial: s,
    notAfter: notAfter.toISOString(),
    notBefore: notBefore.toISOString(),
  };
}

/** Renew once two thirds of the lifetime have passed. */
export function dueForRenewal(c: Pick<CertMaterial, 'notBefore' | 'notAfter'>, now = Date.now()): boolean {
  const from = Date.parse(c.notBefore);
  const to = Date.parse(c.notAfter);
  return now >= from + ((to - from) * 2) / 3;
}
