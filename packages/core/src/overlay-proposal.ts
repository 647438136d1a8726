// IPsec proposals of an overlay: SCC's {encryption, hash, dhGroup} as the
// strongSwan proposal keywords they are (SCC hands the same words to its CNF's
// strongSwan). Only keywords strongSwan knows pass, so a typo is a 422, not a
// tunnel that silently never comes up.
import { invalidArgument } from './errors.js';

export interface ProposalSpec {
  encryption: string;
  hash: string;
  dhGroup: string;
}

const AEAD = /^(aes(128|192|256)(gcm|ccm)(8|12|16|64|96|128)?|chacha20poly1305)$/;
const CIPHERS = /^(aes(128|192|256)(ctr)?|camellia(128|192|256)|3des|blowfish(128|192|256)?|cast128)$/;
const HASHES = /^(md5|sha1|sha256|sha384|sha512|aesxcbc|aescmac)$/;
const GROUPS =
  /^(modp(768|1024|1536|2048|3072|4096|6144|8192)|modp(1024|2048)s(160|224|256)|ecp(192|224|256|384|521)|ecp(224|256|384|512)bp|curve25519|x25519|curve448|x448)$/;

const bad = (field: string, value: unknown, what: string) =>
  invalidArgument(
    `spec.${field} ${JSON.stringify(value)} is not a ${what} strongSwan knows`,
    `spec.${field}`,
    'VALIDATION_FAILED',
  );

export function checkProposal(spec: ProposalSpec): ProposalSpec {
  const enc = spec?.encryption;
  if (typeof enc !== 'string' || !(AEAD.test(enc) || CIPHERS.test(enc)))
    throw bad('encryption', enc, 'cipher');
  if (typeof spec.hash !== 'string' || !HASHES.test(spec.hash)) throw bad('hash', spec.hash, 'hash');
  if (typeof spec.dhGroup !== 'string' || !GROUPS.test(spec.dhGroup))
    throw bad('dhGroup', spec.dhGroup, 'DH group');
  return spec;
}

/** The IKE proposal: an AEAD cipher takes the hash as its PRF. */
export function ikeProposal(p: ProposalSpec): string {
  return AEAD.test(p.encryption)
    ? `${p.encryption}-prf${p.hash}-${p.dhGroup}`
    : `${p.encryption}-${p.hash}-${p.dhGroup}`;
}

/** The ESP proposal, with the DH group for perfect forward secrecy; an AEAD cipher needs no integrity algorithm. */
export function espProposal(p: ProposalSpec): string {
  return AEAD.test(p.encryption) ? `${p.encryption}-${p.dhGroup}` : `${p.encryption}-${p.hash}-${p.dhGroup}`;
}
