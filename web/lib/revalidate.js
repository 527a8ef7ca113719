// @ts-check
// Keep a list fresh while it is on screen: conditional GETs (If-None-Match)
// every few seconds; a 304 costs nothing. No side effects at import.

/**
 * @template T
 * @typedef {import("./api.js").Revalidated<T>} Revalidated
 */

/**
 * Where the page's visibility is read: `visibilityState` and its
 * `visibilitychange` event (the document; a stand-in in unit tests).
 * @typedef {Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener">} VisibilitySource
 */

/**
 * @template T
 * @typedef {object} RevalidatorOptions
 * @property {(etag: string | null) => Promise<Revalidated<T>>} load  a conditional GET (api.js `revalidate`)
 * @property {(data: T) => void} apply  takes a changed document
 * @property {() => boolean} [isVisible]  polls only while this holds
 * @property {number} [interval]  ms between polls
 * @property {(error: any) => void} [onError]
 * @property {() => void} [onRecover]  the first success after errors
 * @property {VisibilitySource} [doc]
 */

/**
 * Poll `load(etag)` while `isVisible()`; call `apply(data)` when it changed.
 *
 * Errors go to `onError` and slow the polling down; the next success
 * calls `onRecover`.
 * @template T
 */
export class Revalidator {
  /** @param {RevalidatorOptions<T>} options */
  constructor({ load, apply, isVisible = () => true, interval = 3000, onError, onRecover, doc = globalThis.document }) {
    this.load = load;
    this.apply = apply;
    this.isVisible = isVisible;
    this.interval = interval;
    this.onError = onError || (() => {});
    this.onRecover = onRecover || (() => {});
    this.doc = doc;
    /** @type {string | null} */
    this.etag = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.running = false;
    /** @type {Promise<void> | null} */
    this.inflight = null;
    this.failures = 0;
    this.generation = 0;
    this._onVisibility = () => {
      if (this.doc.visibilityState === "visible") this.now();
    };
  }

  /** Start polling (a first load happens at once). */
  start() {
    if (this.running) return;
    this.running = true;
    this.doc.addEventListener("visibilitychange", this._onVisibility);
    this.now();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.doc.removeEventListener("visibilitychange", this._onVisibility);
  }

  /**
   * Forget the cached version (e.g. the list now names another pool) and
   * reload; an answer still on its way is then ignored.
   */
  reset() {
    this.etag = null;
    this.generation += 1;
    const pending = this.inflight || Promise.resolve();
    return pending.then(() => this.now());
  }

  /**
   * Take a document the caller already has (a change's answer) as current.
   * @param {T} data
   */
  accept(data) {
    this.etag = null; // the next poll fetches once and resumes 304s
    this.apply(data);
  }

  /**
   * Revalidate now; resolves when done.
   * @returns {Promise<void>}
   */
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
      if (this.doc.visibilityState === "hidden" || !this.isVisible()) this._schedule();
      else this.now();
    }, wait);
  }
}
