// A descriptor that launches the fake plugin as a child process (tests only).
import { fileURLToPath } from 'node:url';
import type { PluginDescriptor } from '../descriptor.js';

/** Absolute path of the fake plugin's entry file. */
export const FAKE_PLUGIN_MAIN = fileURLToPath(new URL('./fake-plugin-main.ts', import.meta.url));

/**
 * The fake plugin as a `process` plugin: launch it with
 * `launchPlugin({ descriptor: fakePluginDescriptor(), env: { SKYWAY_FAKE_CLOUD: 'cloud-a' }, ... })`.
 */
export function fakePluginDescriptor(over: Partial<PluginDescriptor> = {}): PluginDescriptor {
  return {
    name: 'fake',
    version: '0.1.0',
    summary: 'In-memory cloud for tests',
    maintainer: 'skyway',
    categories: ['testing'],
    tags: ['fake'],
    default_config: {},
    description: 'Never a default: only tests launch it.',
    backend: { package: '@skyway/plugin-sdk', component: 'createFakePlugin' },
    interfaces: {},
    runtime: 'process',
    command: [process.execPath, '--import', 'tsx', FAKE_PLUGIN_MAIN],
    capabilities: ['permit-lists', 'vpn'],
    source: fileURLToPath(new URL('./fake-descriptor.ts', import.meta.url)),
    ...over,
  };
}
