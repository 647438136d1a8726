// Small IPv4 helpers (the plugin keeps to the SDK and the dataplane).
import { invalid } from './errors.js';

export const ipToInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
export const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

const IP_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function checkIp(ip: string, field: string): string {
  const m = IP_RE.exec(ip);
  if (!m || [1, 2, 3, 4].some((i) => Number(m[i]) > 255))
    throw invalid(`${field}: "${ip}" is not an IPv4 address`, field);
  return ip;
}

export interface Net {
  base: number;
  len: number;
}

/** Parses "a.b.c.d[/len]" (host bits allowed and cleared). */
export function parseNet(s: string, field: string): Net {
  const [ip, len] = s.split('/');
  checkIp(ip ?? '', field);
  const l = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(l) || l < 0 || l > 32 || (len !== undefined && !/^\d{1,2}$/.test(len))) {
    throw invalid(`${field}: "${s}" is not an IPv4 CIDR`, field);
  }
  const size = 2 ** (32 - l);
  return { base: Math.floor(ipToInt(ip!) / size) * size, len: l };
}

export const netSize = (n: Net) => 2 ** (32 - n.len);
export const formatNet = (n: Net) => `${intToIp(n.base)}/${n.len}`;
export const overlaps = (a: Net, b: Net) => a.base < b.base + netSize(b) && b.base < a.base + netSize(a);
export const contains = (outer: Net, ip: string) => {
  const x = ipToInt(ip);
  return x >= outer.base && x < outer.base + netSize(outer);
};
