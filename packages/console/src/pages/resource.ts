// A resource: its rules with their resolved targets, who may reach it on
// which ports, and (for operators) adding and deleting rules.
import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { ErrorText, html, Loading, portText, protocolName, Section, Table, useData } from '../ui.js';
import { RuleForm } from './rule-form.js';

export function Resource({
  ns,
  cloud,
  name,
  canWrite,
}: {
  ns: string;
  cloud: string;
  name: string;
  canWrite: boolean;
}) {
  const path = `/api/v1/namespaces/${enc(ns)}/clouds/${enc(cloud)}/resources/${enc(name)}`;
  const data = useData(async () => {
    const [resource, rules, all] = await Promise.all([
      api('GET', path),
      api('GET', `${path}/rules`),
      api('GET', '/api/v1/resources'),
    ]);
    return { resource, rules: rules.rules as any[], all: all.resources as any[] };
  }, [path]);
  const [error, setError] = useState<unknown>();
  if (!data.value) return html`<h1>${ns}/${cloud}/${name}</h1><${Loading} data=${data} />`;
  const { resource, rules, all } = data.value;
  const byIp = new Map(all.map((r: any) => [r.ip, `${r.namespace}/${r.cloud}/${r.name}`]));
  const who = (t: string) => byIp.get(t.replace(/\/32$/, '')) ?? t;
  const remove = async (rule: string) => {
    setError(undefined);
    try {
      await api('DELETE', `${path}/rules/${enc(rule)}`);
      data.reload();
    } catch (e) {
      setError(e);
    }
  };
  const inbound = rules.filter((r) => r.direction === 'INBOUND');
  return html`<div>
    <h1>${ns}/${cloud}/${name}</h1>
    <p>IP <code>${resource.ip}</code> · URI <code>${resource.uri}</code> · created ${resource.created_at}</p>
    <${Section} title="Rules">
      <${Table}
        cols=${['name', 'direction', 'protocol', 'port', 'tags', 'resolved targets', ...(canWrite ? [''] : [])]}
        rows=${rules.map((r) => [
          r.name,
          r.direction.toLowerCase(),
          protocolName(r.protocol),
          portText(r.dst_port),
          r.tags.join(', '),
          r.targets.join(', ') || html`<span class="muted">(none yet)</span>`,
          ...(canWrite
            ? [
                html`<button class="danger" onClick=${() => remove(r.name)} aria-label=${`delete rule ${r.name}`}>Delete</button>`,
              ]
            : []),
        ])}
        empty="(no rules: everything is denied)"
      />
      <${ErrorText} error=${error} />
    <//>
    <${Section} title="Who may reach it">
      <${Table}
        cols=${['from', 'protocol', 'port', 'rule']}
        rows=${inbound.flatMap((r) => r.targets.map((t: string) => [who(t), protocolName(r.protocol), portText(r.dst_port), r.name]))}
        empty="(nobody: no inbound rule resolves to a target)"
      />
    <//>
    ${canWrite ? html`<${Section} title="Add a rule"><${RuleForm} path=${path} onAdded=${data.reload} /><//>` : null}
  </div>`;
}
