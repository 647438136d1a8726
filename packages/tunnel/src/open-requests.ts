// Requests open on the service port, by the credential that let them in, so
// that revoking a credential also ends what it opened before (a watch, a
// WebSocket) and not only the requests that come after.

export interface OpenRequest {
  /** Its credential was revoked: an error answer if none was started, else the connection or stream cut. */
  revoked(): void;
}

export class OpenRequests {
  private readonly byCredential = new Map<string, Set<OpenRequest>>();

  add(credential: string, r: OpenRequest) {
    const set = this.byCredential.get(credential);
    if (set) set.add(r);
    else this.byCredential.set(credential, new Set([r]));
  }

  delete(credential: string, r: OpenRequest) {
    const set = this.byCredential.get(credential);
    if (set?.delete(r) && set.size === 0) this.byCredential.delete(credential);
  }

  /** Ends everything `credential` (a token id or a normalized certificate serial) opened; returns how many. */
  cut(credential: string): number {
    const set = this.byCredential.get(credential);
    if (!set) return 0;
    this.byCredential.delete(credential);
    for (const r of set) r.revoked();
    return set.size;
  }
}
