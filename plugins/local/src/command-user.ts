// The unprivileged user lab VM commands run as (default nobody): the lab runs
// as root, and a VM's command is whatever an operator's token sent.
import { readFileSync } from 'node:fs';
import { precondition } from './errors.js';

export const DEFAULT_COMMAND_USER = 'nobody';

export interface CommandUser {
  name: string;
  uid: number;
  gid: number;
}

/** Looks `name` up in /etc/passwd (name:x:uid:gid:...); root is refused. */
export function lookupCommandUser(name: string, passwd = '/etc/passwd'): CommandUser {
  const line = readFileSync(passwd, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!line || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? ''))
    throw precondition(`command_user "${name}" is not a user of this host (${passwd})`);
  if (Number(uid) === 0) throw precondition(`command_user "${name}" is root; VM commands run unprivileged`);
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** argv that runs `command` with sh as `user`: no groups, no capabilities, no way back to root. */
export function asUser(user: CommandUser, command: string): [string, string[]] {
  return [
    'setpriv',
    [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      'sh',
      '-c',
      command,
    ],
  ];
}
