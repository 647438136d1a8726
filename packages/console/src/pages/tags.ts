// Tags: members, and subscribers (the rules that name the tag); operators set members.
import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { href } from '../router.js';
import { ErrorText, html, Loading, Section, Table, useData } from '../ui.js';

async function load() {
  const [{ tags }, { resources }] = await Promise.all([
    api('GET', '/api/v1/tags'),
    api('GET', '/api/v1/resources'),
  ]);
  // Subscribers: each resource's rules, read once (a lab or a team's namespace, not thousands).
  const subscribers = new Map<string, string[]>();
  await Promise.all(
    (resources as any[]).slice(0, 200).map(async (r) => {
      const path = `/api/v1/namespaces/${enc(r.namespace)}/clouds/${enc(r.cloud)}/resources/${enc(r.name)}/rules`;
      for (const rule of (await api('GET', path)).rules)
        for (const t of rule.tags)
          subscribers.set(t, [
            ...(subscribers.get(t) ?? []),
            `${r.namespace}/${r.cloud}/${r.name}:${rule.name}`,
          ]);
    }),
  );
  return { tags: tags as any[], subscribers };
}

function Members({ tag, onSaved }: { tag: any; onSaved: () => void }) {
  const [text, setText] = useState(tag.child_tags.join(', '));
  const [error, setError] = useState<unknown>();
  const save = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const members = text.split(/[\s,]+/).filter(Boolean);
      await api('PUT', `/api/v1/tags/${enc(tag.tag_name)}`, { child_tags: members });
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  const id = `members-${tag.tag_name}`;
  return html`<form class="inline" onSubmit=${save}>
    <label for=${id}>Members</label>
    <input id=${id} value=${text} onInput=${(e: any) => setText(e.currentTarget.value)} />
    <button type="submit">Set members</button>
    <${ErrorText} error=${error} />
  </form>`;
}

export function Tags({ canWrite }: { canWrite: boolean }) {
  const data = useData(load);
  const [newTag, setNewTag] = useState('');
  if (!data.value) return html`<h1>Tags</h1><${Loading} data=${data} />`;
  const { tags, subscribers } = data.value;
  const groups = tags.filter((t) => !t.uri && !t.ip);
  const leaves = tags.filter((t) => t.uri || t.ip);
  return html`<div>
    <h1>Tags</h1>
    <${Section} title="Tags with members">
      ${groups.length === 0 ? html`<p class="muted">(none)</p>` : null}
      ${groups.map(
        (t) => html`<article class="tag">
          <h3>${t.tag_name} <span class="muted small">${t.namespace ?? 'global'}${t.shared_with.length ? `, shared with ${t.shared_with.join(', ')}` : ''}</span></h3>
          <p>Members: ${t.child_tags.join(', ') || '(none)'}</p>
          <p>Subscribers: ${(subscribers.get(t.tag_name) ?? []).join(', ') || '(none)'}</p>
          ${canWrite ? html`<${Members} tag=${t} onSaved=${data.reload} />` : null}
        </article>`,
      )}
      ${
        canWrite
          ? html`<form class="inline" onSubmit=${(e: Event) => e.preventDefault()}>
            <label for="new-tag">New tag</label>
            <input id="new-tag" value=${newTag} onInput=${(e: any) => setNewTag(e.currentTarget.value)} placeholder="name" />
          </form>
          ${
            newTag
              ? html`<${Members} tag=${{ tag_name: newTag, child_tags: [] }} onSaved=${() => {
                  setNewTag('');
                  data.reload();
                }} />`
              : null
          }`
          : null
      }
    <//>
    <${Section} title="Resource tags">
      <${Table}
        cols=${['tag', 'ip', 'subscribers']}
        rows=${leaves.map((t) => {
          const [ns, cloud, ...rest] = t.tag_name.split('.');
          return [
            html`<a href=${href('resource', ns, cloud, rest.join('.'))}>${t.tag_name}</a>`,
            t.ip,
            (subscribers.get(t.tag_name) ?? []).join(', '),
          ];
        })}
      />
    <//>
  </div>`;
}
