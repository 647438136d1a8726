// `skyway secret seal`: seals a value (a cloud credential) with the
// controller's master key, for skyway.yaml, so that the config file holds no
// credential in clear; the controller opens it only to hand it to its plugin.
import { readFileSync } from 'node:fs';
import { CONFIG_SEALED_PREFIX, SecretBox } from '@skyway/controller';
import type { Command } from 'commander';
import { skywayHome } from '../client.js';
import { example, globals } from '../context.js';
import { emit } from '../output.js';

export function registerSecret(program: Command): void {
  const secret = example(
    program.command('secret').description('values sealed with the master key, for the controller config'),
    'printf %s "$AWS_SECRET_ACCESS_KEY" | skyway secret seal',
  );
  example(
    secret
      .command('seal')
      .description('read a value on stdin, print it sealed (sealed:v1:...) for a cloud config in skyway.yaml')
      .option('--home <dir>', 'Skyway home (default $SKYWAY_HOME or ~/.skyway)')
      .option('--master-key-file <file>', 'the master key file, when the config names one'),
    'printf %s "$AWS_SECRET_ACCESS_KEY" | skyway secret seal',
    'skyway secret seal --master-key-file /etc/skyway/master.key < secret.txt',
  ).action((o, cmd: Command) => {
    const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (!value) throw new Error('nothing on stdin to seal');
    const box = SecretBox.forHome(o.home ?? skywayHome(), { keyFile: o.masterKeyFile });
    const sealed = `${CONFIG_SEALED_PREFIX}${box.seal(value)}`;
    emit(globals(cmd).json, { sealed }, () => console.log(sealed));
  });
}
