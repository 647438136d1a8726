// The agent's YAML configuration file.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { EnrollmentBundle } from './identity.js';
import type { ServiceConfig } from './services.js';

export interface AgentConfigFile {
  home?: string;
  /** Path to an enrollment bundle, used on first start. */
  bundle?: string;
  annotations?: Record<string, string>;
  keepaliveMs?: number;
  /** Reconnect backoff: first delay and cap, in milliseconds. */
  backoff?: { baseMs?: number; maxMs?: number };
  services?: ServiceConfig[];
  /** host:port of a listener for GET /metrics (Prometheus); none by default. */
  metricsListen?: string;
}

export async function loadAgentConfig(path: string): Promise<AgentConfigFile> {
  const doc = parse(await readFile(path, 'utf8')) as AgentConfigFile | null;
  if (!doc || typeof doc !== 'object') throw new Error(`${path}: not a YAML mapping`);
  if (doc.services !== undefined && !Array.isArray(doc.services))
    throw new Error(`${path}: services must be a list`);
  return doc;
}

export async function loadBundle(path: string): Promise<EnrollmentBundle> {
  const b = parse(await readFile(path, 'utf8')) as EnrollmentBundle;
  if (b?.kind !== 'AgentEnrollment' || !b.token || !b.controller || !b.ca)
    throw new Error(`${path}: not a Skyway agent enrollment bundle`);
  return b;
}
