// A searchable registry of plugin descriptors (CloudLaunch's "AppStore"):
// several versions of a plugin side by side, latest by semver, ranked search.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, notFound } from '@skyway/core';
import { loadDescriptor, type PluginDescriptor } from './descriptor.js';
import { compareSemver } from './semver.js';

export interface SearchQuery {
  /** Free text; every word must match the name, a tag, a category, the summary or the description. */
  text?: string;
  /** Exact category (case-insensitive). */
  category?: string;
  /** Exact tag (case-insensitive). */
  tag?: string;
}

export interface SearchHit {
  /** The latest version of the plugin. */
  descriptor: PluginDescriptor;
  /** All versions held, newest first. */
  versions: string[];
  score: number;
}

const lower = (s: string) => s.toLowerCase();

/** How well one word matches a descriptor: name > tag > category > summary > description; 0 = no match. */
function wordScore(d: PluginDescriptor, w: string): number {
  if (d.name === w) return 100;
  if (d.name.startsWith(w)) return 60;
  if (d.name.includes(w)) return 40;
  if (d.tags.some((t) => lower(t) === w)) return 30;
  if (d.tags.some((t) => lower(t).includes(w))) return 20;
  if (d.categories.some((c) => lower(c).includes(w))) return 15;
  if (lower(d.summary).includes(w)) return 10;
  if (lower(d.description).includes(w)) return 5;
  return 0;
}

export class PluginRegistry {
  /** name -> versions, newest first */
  readonly #plugins = new Map<string, PluginDescriptor[]>();

  /** Adds one version of a plugin. Adding the same name and version twice is refused unless `replace`. */
  add(d: PluginDescriptor, opts: { replace?: boolean } = {}): void {
    const versions = this.#plugins.get(d.name) ?? [];
    const at = versions.findIndex((v) => compareSemver(v.version, d.version) === 0);
    if (at >= 0 && !opts.replace) {
      throw alreadyExists(
        `plugin ${d.name} version ${d.version} (${d.source}) is already registered (from ${versions[at]!.source})`,
      );
    }
    if (at >= 0) versions.splice(at, 1);
    versions.push(structuredClone(d));
    versions.sort((a, b) => compareSemver(b.version, a.version));
    this.#plugins.set(d.name, versions);
  }

  /** Removes one version, or every version when none is given. */
  remove(name: string, version?: string): void {
    const versions = this.#plugins.get(name);
    if (!versions) throw notFound(`no plugin named ${name} is registered`);
    if (version === undefined) {
      this.#plugins.delete(name);
      return;
    }
    const at = versions.findIndex((v) => compareSemver(v.version, version) === 0);
    if (at < 0)
      throw notFound(`plugin ${name} has no version ${version} (has ${this.versions(name).join(', ')})`);
    versions.splice(at, 1);
    if (versions.length === 0) this.#plugins.delete(name);
  }

  /** One version of a plugin; the latest by semver (pre-releases only if nothing else) when no version is given. */
  get(name: string, version?: string): PluginDescriptor {
    const versions = this.#plugins.get(name);
    if (!versions) throw notFound(`no plugin named ${name} is registered`);
    const found =
      version === undefined
        ? (versions.find((v) => !v.version.split('+')[0]!.includes('-')) ?? versions[0])
        : versions.find((v) => compareSemver(v.version, version) === 0);
    if (!found)
      throw notFound(`plugin ${name} has no version ${version} (has ${this.versions(name).join(', ')})`);
    return structuredClone(found);
  }

  has(name: string, version?: string): boolean {
    const versions = this.#plugins.get(name);
    if (!versions) return false;
    return version === undefined || versions.some((v) => compareSemver(v.version, version) === 0);
  }

  /** Versions of a plugin, newest first ([] when unknown). */
  versions(name: string): string[] {
    return (this.#plugins.get(name) ?? []).map((v) => v.version);
  }

  /** The latest version of every plugin, by name. */
  list(): PluginDescriptor[] {
    return [...this.#plugins.keys()].sort().map((n) => this.get(n));
  }

  get size(): number {
    return this.#plugins.size;
  }

  /**
   * Plugins matching every given criterion, best first (name match > tag >
   * summary/description text; ties by name). Each plugin appears once, as its
   * latest version; category and tag filters match any version's latest.
   */
  search(q: SearchQuery = {}): SearchHit[] {
    const words = lower(q.text ?? '')
      .split(/\s+/)
      .filter(Boolean);
    const hits: SearchHit[] = [];
    for (const name of this.#plugins.keys()) {
      const d = this.get(name);
      if (q.category && !d.categories.some((c) => lower(c) === lower(q.category!))) continue;
      if (q.tag && !d.tags.some((t) => lower(t) === lower(q.tag!))) continue;
      let score = 0;
      let all = true;
      for (const w of words) {
        const s = wordScore(d, w);
        if (!s) {
          all = false;
          break;
        }
        score += s;
      }
      if (all) hits.push({ descriptor: d, versions: this.versions(name), score });
    }
    return hits.sort((a, b) => b.score - a.score || a.descriptor.name.localeCompare(b.descriptor.name));
  }

  /**
   * Loads every *.yaml / *.yml file of a directory (not recursive). Any invalid
   * descriptor fails the whole load with an error naming its file.
   */
  async loadDirectory(dir: string, opts: { replace?: boolean } = {}): Promise<PluginDescriptor[]> {
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch (e) {
      throw notFound(
        `cannot read plugin directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const loaded = await Promise.all(files.map((f) => loadDescriptor(join(dir, f))));
    for (const d of loaded) this.add(d, opts);
    return loaded;
  }

  /** A registry holding every descriptor of a directory. */
  static async fromDirectory(dir: string): Promise<PluginRegistry> {
    const r = new PluginRegistry();
    await r.loadDirectory(dir);
    return r;
  }
}
