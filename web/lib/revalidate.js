// Keep a list fresh while it is on screen: conditional GETs (If-None-Match)
// every few seconds; a 304 costs nothing. No side effects at import.

/**
 * Poll `load(etag)` while `isVisible()`; call `apply(data)` when it changed.
 *
 * `load` resolves to {notModified, etag, data} (see api.js `revalidate`).
 * Errors go to `onError` and slow the polling down; the next success
 * calls `onRecover`.
 */
export class Revalidator {
  constructor({ load, apply, isVisible = () => true, interval = 3000, onError, onRecover }) {
    this.load = load;
    this.apply = apply;
    this.isVisible = isVisible;
    this.interval = interval;
    this.onError = onError || (() => {});
    this.onRecover = onRecover || (() => {});
    this.etag = null;
    this.timer = null;
    this.running = false;
    this.inflight = null;
    this.failures = 0;
    this.generation = 0;
    this._onVisibility = () => {
      if (document.visibilityState === "visible") this.now();
    };
  }

  /** Start polling (a first load happens at once). */
  start() {
    if (this.running) return;
    this.running = true;
    document.addEventListener("visibilitychange", this._onVisibility);
    this.now();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    document.removeEventListener("visibilitychange", this._onVisibility);
  }

  /** Forget the cached version (e.g. the list now names another pool) and reload. */
  reset() {
    this.etag = null;
    this.generation += 1;
    const pending = this.inflight || Promise.resolve();
    return pending.then(() => this.now());
  }

  /** Take a document the caller already has (a change's answer) as current. */
  accept(data) {
    this.etag = null; // the next poll fetches once and resumes 304s
    this.apply(data);
  }

  /** Revalidate now; resolves when done. */
  now() {
    clearTimeout(this.timer);
    if (this.inflight) return this.inflight;
    const generation = this.generation;
    this.inflight = (async () => {
      try {
        const r = await this.load(this.etag);
        if (generation !== this.generation) return;
        if (this.failures) this.onRecover();
        this.failures = 0;
        if (!r.notModified) {
          this.etag = r.etag;
          this.apply(r.data);
        }
      } catch (e) {
        this.failures += 1;
        this.onError(e);
      } finally {
        this.inflight = null;
        this._schedule();
      }
    })();
    return this.inflight;
  }

  _schedule() {
    if (!this.running) return;
    const wait = this.interval * Math.min(2 ** this.failures, 10);
    this.timer = setTimeout(() => {
      if (document.visibilityState === "hidden" || !this.isVisible()) this._schedule();
      else this.now();
    }, wait);
  }
}
