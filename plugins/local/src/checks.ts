// What the lab cloud needs on the host, for CheckCredentials.
import { access, constants } from 'node:fs/promises';

export const APT_LINE =
  'apt-get install -y iproute2 nftables strongswan-charon strongswan-swanctl libcharon-extra-plugins bird2';

const TOOLS: [string, string[]][] = [
  ['ip', ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']],
  ['nft', ['/usr/sbin/nft', '/sbin/nft']],
  ['swanctl', ['/usr/sbin/swanctl', '/sbin/swanctl']],
  ['charon', ['/usr/lib/ipsec/charon']],
  ['kernel-libipsec plugin', ['/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so']],
  ['bird', ['/usr/sbin/bird', '/sbin/bird']],
  ['birdc', ['/usr/sbin/birdc', '/sbin/birdc']],
];

const exists = async (p: string) =>
  access(p, p.endsWith('.so') || p.startsWith('/dev/') ? constants.R_OK : constants.X_OK).then(
    () => true,
    () => false,
  );

export async function checkHost(): Promise<{ ok: boolean; message: string }> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0)
    problems.push('the lab cloud needs root (network namespaces, nftables, TUN devices)');
  const missing: string[] = [];
  for (const [name, paths] of TOOLS) {
    let found = false;
    for (const p of paths) if (await exists(p)) found = true;
    if (!found) missing.push(name);
  }
  if (missing.length) problems.push(`missing: ${missing.join(', ')}; install with: ${APT_LINE}`);
  if (!(await exists('/dev/net/tun'))) problems.push('/dev/net/tun is missing (kernel-libipsec needs TUN)');
  return problems.length ? { ok: false, message: problems.join('; ') } : { ok: true, message: '' };
}
