// What the glide replays run against: a controller with two fake clouds
// (lab-east, lab-west) in namespace default, a VM db-1 that exists in
// lab-east but not in Skyway (for `glide resource attach`), and the
// compatibility listener on 127.0.0.1 acting as an operator of default.
import { inProcess } from '@skyway/plugin-sdk';
import { type Harness, startHarness } from '../../../testing/harness.js';
import { parseParagliderConfig } from '../config.js';
import { type ParagliderListener, startParagliderListener } from '../server.js';

export const world = { ns: 'default', east: 'lab-east', west: 'lab-west' } as const;
export const ATTACH_URI = `fake://${world.east}/${world.ns}/${world.east}/db-1`;

export interface GlideWorld {
  h: Harness;
  pg: ParagliderListener;
  port: number;
  db1: { uri: string; ip: string };
  close(): Promise<void>;
}

export async function startGlideWorld(): Promise<GlideWorld> {
  const h = await startHarness({ clouds: [world.east, world.west] });
  try {
    const db1 = await inProcess(h.fakes.get(`${world.ns}/${world.east}`)!).createResource({
      deployment: { id: world.east, namespace: world.ns },
      name: 'db-1',
      description: new TextEncoder().encode('{}'),
    });
    const config = parseParagliderConfig(
      { listen: '127.0.0.1:0', role: 'operator', namespaces: [world.ns] },
      'test',
    );
    const pg = await startParagliderListener({ services: h.services, config });
    return {
      h,
      pg,
      port: Number(new URL(pg.url).port),
      db1: { uri: db1.uri, ip: db1.ip },
      close: async () => {
        await pg.close();
        await h.close();
      },
    };
  } catch (e) {
    await h.close();
    throw e;
  }
}
