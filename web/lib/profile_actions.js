// @ts-check
// Profile operations with their questions and answers, over a `ui` that the
// host provides (ComfyUI's dialog/toast API, or the standalone page's own).
// No side effects at import.

import { errorText } from "./api.js";

/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").ProfileEntry} ProfileEntry */
/** @typedef {"success" | "info" | "warn" | "error"} Severity */
/**
 * @typedef {object} Ui  how a host asks and tells
 * @property {(q: {title: string, message: string, defaultValue?: string}) => Promise<string | null | undefined>} prompt
 * @property {(q: {title: string, message: string, danger?: boolean}) => Promise<boolean>} confirm
 * @property {(t: {severity?: Severity, summary: string, detail?: string}) => void} toast
 * @property {(text: string | null) => void} busy  progress of a long operation; null when done
 */

/**
 * Start a download of `url` (the server streams it; nothing is held in memory here).
 * @param {string} url
 * @param {string} [filename]
 */
export function download(url, filename = "") {
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/**
 * Let the user pick one file; resolves to the File or null.
 * @param {string} accept
 * @returns {Promise<File | null>}
 */
export function pickFile(accept) {
  return new Promise((resolve) => {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = accept;
    input.style.display = "none";
    let settled = false;
    /** @param {File | null} f */
    const done = (f) => {
      if (settled) return;
      settled = true;
      input.remove();
      resolve(f);
    };
    input.addEventListener("change", () => done((input.files && input.files[0]) || null));
    input.addEventListener("cancel", () => done(null));
    document.body.appendChild(input);
    input.click();
  });
}

/**
 * A download name for profile `name`; the server's Content-Disposition has the final say.
 * @param {string} name
 */
function safeFilename(name) {
  return (name || "profile").replace(/[\\/:*?"<>|\x00-\x1f]+/g, "_").slice(0, 100) + ".zip";
}

/**
 * What the profile buttons do: ask, call the API, tell. Each resolves to what
 * it made (or null when cancelled or failed; failures are toasted).
 */
export class ProfileActions {
  /**
   * @param {PoolApi} api
   * @param {Ui} ui
   * @param {{download?: typeof download, pickFile?: typeof pickFile}} [browser]  the page's
   *   download and file picker (stand-ins in unit tests)
   */
  constructor(api, ui, browser = {}) {
    this.api = api;
    this.ui = ui;
    this.download = browser.download || download;
    this.pickFile = browser.pickFile || pickFile;
  }

  /**
   * Run `call` with a busy note; toast its success or failure.
   * @template T
   * @param {string} busyText
   * @param {() => Promise<T>} call
   * @param {(result: T) => string} [success]
   * @returns {Promise<T | null>}
   */
  async _run(busyText, call, success) {
    this.ui.busy(busyText);
    try {
      const result = await call();
      if (success) this.ui.toast({ severity: "success", summary: success(result) });
      return result;
    } catch (e) {
      this.ui.toast({ severity: "error", summary: `${busyText.replace(/…$/, "")} failed`, detail: errorText(e) });
      return null;
    } finally {
      this.ui.busy(null);
    }
  }

  /**
   * Ask for a name; null when cancelled or blank.
   * @param {string} title
   * @param {string} message
   * @param {string} [defaultValue]
   */
  async _name(title, message, defaultValue = "") {
    const name = await this.ui.prompt({ title, message, defaultValue });
    if (name === null || name === undefined) return null;
    const trimmed = String(name).trim();
    if (!trimmed) {
      this.ui.toast({ severity: "warn", summary: "A profile needs a name" });
      return null;
    }
    return trimmed;
  }

  /**
   * Ask for a name and create an empty profile in `store`.
   * @param {string} store
   */
  async create(store) {
    const name = await this._name("New profile", "Name of the new profile:");
    if (!name) return null;
    const r = await this._run("Creating profile…", () => this.api.createProfile(name, store),
      (r) => `Created profile "${r.profile.name}"`);
    return r && r.profile;
  }

  /** @param {ProfileEntry} entry */
  async rename(entry) {
    const name = await this._name("Rename profile", `New name for "${entry.name}":`, entry.name);
    if (!name || name === entry.name) return null;
    const r = await this._run("Renaming profile…", () => this.api.renameProfile(entry.id, name),
      (r) => `Renamed to "${r.profile.name}"`);
    return r && r.profile;
  }

  /** @param {ProfileEntry} entry */
  async duplicate(entry) {
    const name = await this._name("Duplicate profile", `Name of the copy of "${entry.name}":`, `${entry.name} copy`);
    if (!name) return null;
    const r = await this._run("Duplicating profile…", () => this.api.duplicateProfile(entry.id, name),
      (r) => `Duplicated as "${r.profile.name}"`);
    return r && r.profile;
  }

  /**
   * Ask, then delete; resolves to true when the profile was deleted.
   * @param {ProfileEntry} entry
   */
  async remove(entry) {
    const ok = await this.ui.confirm({
      title: "Delete profile",
      message: `Delete profile "${entry.name}" with all its images and masks? This cannot be undone — export it first to keep a copy.`,
      danger: true,
    });
    if (!ok) return false;
    const r = await this._run("Deleting profile…", () => this.api.deleteProfile(entry.id),
      () => `Deleted profile "${entry.name}"`);
    return !!r;
  }

  /** @param {ProfileEntry} entry */
  exportProfile(entry) {
    this.download(this.api.exportUrl(entry.id), safeFilename(entry.name));
    this.ui.toast({ severity: "info", summary: `Exporting "${entry.name}"`, detail: "The zip downloads in the browser." });
  }

  /**
   * Pick a zip and import it into `store`.
   * @param {string} store
   */
  async importProfile(store) {
    const file = await this.pickFile(".zip,application/zip");
    if (!file) return null;
    let shown = 0;
    /** @type {import("./api.js").ProgressCallback} */
    const onProgress = (loaded, total) => {
      const pct = total ? Math.round((100 * loaded) / total) : 0;
      if (pct >= shown + 5) {
        shown = pct;
        this.ui.busy(`Importing ${file.name}… ${pct}%`);
      }
    };
    const r = await this._run(`Importing ${file.name}…`,
      () => this.api.importProfile(file, { store, onProgress }),
      (r) => `Imported profile "${r.profile.name}"`);
    return r && r.profile;
  }

  /**
   * Copy `entry` to another store chosen by name.
   * @param {ProfileEntry} entry
   * @param {string[]} storeNames  the configured stores
   */
  async copyToStore(entry, storeNames) {
    const others = storeNames.filter((s) => s !== entry.store);
    if (!others.length) {
      this.ui.toast({ severity: "info", summary: "Only one store is configured", detail: "Add a store in the server configuration to copy profiles between stores." });
      return null;
    }
    const target = await this._name("Copy profile to store",
      `Copy "${entry.name}" to which store? (${others.join(", ")})`, others[0]);
    if (!target) return null;
    if (!others.includes(target)) {
      this.ui.toast({ severity: "error", summary: `No store named "${target}"`, detail: `Choose one of: ${others.join(", ")}` });
      return null;
    }
    const r = await this._run(`Copying "${entry.name}" to ${target}…`, () => this.api.copyProfile(entry.id, target),
      (r) => `Copied to ${target} as "${r.profile.name}"`);
    return r && r.profile;
  }

  /**
   * Offer to copy the images of pool `fromPool` into the empty profile `entry`;
   * resolves to the profile's pool document, or null.
   * @param {string} fromPool
   * @param {number} count  images in `fromPool`
   * @param {ProfileEntry} entry
   */
  async offerSeed(fromPool, count, entry) {
    const ok = await this.ui.confirm({
      title: "Copy images into profile?",
      message: `Profile "${entry.name}" is empty, and this pool holds ${count} image(s). Copy them (with masks and labels) into the profile?`,
    });
    if (!ok) return null;
    return this._run(`Copying ${count} image(s) into "${entry.name}"…`, () => this.api.seedProfile(fromPool, entry.id),
      () => `Copied ${count} image(s) into "${entry.name}"`);
  }
}
