// A lab cloud's config (the controller's `namespaces.<ns>.clouds.<cloud>.config`)
// as createLocalPlugin options; wrong types are refused naming the key.
import { invalid } from './errors.js';
import type { LocalPluginOptions } from './plugin.js';

export type LocalConfigOptions = Pick<
  LocalPluginOptions,
  'stateDir' | 'internet' | 'allowCommands' | 'commandUser'
>;

export function localOptionsFromConfig(config: Record<string, unknown>): LocalConfigOptions {
  const str = (key: string) => {
    const v = config[key];
    if (v !== undefined && typeof v !== 'string')
      throw invalid(`config.${key} must be a string`, `config.${key}`);
    return v as string | undefined;
  };
  const allow = config.allow_commands;
  if (allow !== undefined && typeof allow !== 'boolean')
    throw invalid('config.allow_commands must be true or false', 'config.allow_commands');
  const out: LocalConfigOptions = {};
  const stateDir = str('stateDir');
  const internet = str('internet');
  const commandUser = str('command_user');
  if (stateDir) out.stateDir = stateDir;
  if (internet) out.internet = internet;
  if (commandUser) out.commandUser = commandUser;
  if (allow) out.allowCommands = true;
  return out;
}
