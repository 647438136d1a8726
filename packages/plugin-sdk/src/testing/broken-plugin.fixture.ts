// Not a test on its own: conformance.test.ts runs this file in a child
// process to prove the suite catches broken plugins.

import { runConformance } from '../conformance.js';
import type { CloudPluginImpl } from '../contract.js';
import { inProcess } from '../transport.js';
import { createFakePlugin } from './fake-plugin.js';

const fake = createFakePlugin({ cloud: 'broken', clockOffsetMs: 10 * 60_000 }); // clock 10 minutes ahead
const inner = inProcess(fake);
const broken: CloudPluginImpl = {
  ...fake,
  // keeps the old rule next to the new one when a name is added again
  async addPermitListRules(req) {
    const { rules } = await inner.getPermitList({ namespace: req.namespace, resource: req.resource });
    const kept = rules.filter((old) => req.rules.some((r) => r.name === old.name));
    const renamed = kept.map((old) => ({ ...old, name: `${old.name}-old` }));
    return inner.addPermitListRules({ ...req, rules: [...req.rules, ...renamed] });
  },
  // drops networking details instead of refusing them
  async createResource(req) {
    const d = JSON.parse(new TextDecoder().decode(req.description) || '{}');
    const clean = Object.fromEntries(Object.entries(d).filter(([k]) => k === 'name'));
    return inner.createResource({ ...req, description: new TextEncoder().encode(JSON.stringify(clean)) });
  },
};

runConformance({
  name: 'broken',
  setup: async () => ({
    client: inProcess(broken),
    deployment: { id: 'd', namespace: 'default' },
    resourceDescription: (name) => new TextEncoder().encode(JSON.stringify({ name })),
    cleanup: async () => {},
  }),
});
